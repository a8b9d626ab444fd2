// RecordCache: opening, the public face, maintenance, logging, statistics and events.
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "engine/process_signals.h"
#include "engine/record_cache_impl.h"
#include "index/key_codec.h"
#include "index/pk_list.h"
#include "larder/advanced/executor.h"

namespace larder {
namespace {

std::shared_ptr<RecordEventHub> NewRecordEventHub() {
  return std::make_shared<RecordEventHub>(
      [](const RecordEvent& ev) { return RecordEventBit(ev.type); },
      [](const RecordEvent& ev, const Status& error, RecordEvent* out) {
        if (ev.type == RecordEventType::kError) return false;
        out->type = RecordEventType::kError;
        out->error = &error;
        return true;
      });
}

Status CheckOptions(const RecordCacheOptions& o) {
  if (o.ttl && o.ttl->count() <= 0) return Status::InvalidArgument("ttl: must be positive");
  if (o.stale_ttl && o.ttl && *o.stale_ttl < *o.ttl) {
    return Status::InvalidArgument("stale_ttl: must be at least ttl (both count from the write)");
  }
  if (o.negative_ttl && o.negative_ttl->count() <= 0) {
    return Status::InvalidArgument("negative_ttl: must be positive");
  }
  if (o.refresh_interval.count() < 0 || o.min_auto_sync_interval.count() < 0 ||
      o.maintenance_interval.count() < 0 || o.fail_safe_throttle.count() < 0) {
    return Status::InvalidArgument("intervals must not be negative");
  }
  if (o.full_sync_every < 0) return Status::InvalidArgument("full_sync_every: must not be negative");
  return Status::OK();
}

}  // namespace

std::string_view RecordEventTypeName(RecordEventType type) noexcept {
  switch (type) {
    case RecordEventType::kSynced: return "synced";
    case RecordEventType::kRefreshed: return "refreshed";
    case RecordEventType::kCleared: return "cleared";
    case RecordEventType::kClearedField: return "cleared_field";
    case RecordEventType::kItemCreated: return "item_created";
    case RecordEventType::kItemUpdated: return "item_updated";
    case RecordEventType::kItemRemoved: return "item_removed";
    case RecordEventType::kRefreshedItem: return "refreshed_item";
    case RecordEventType::kItemInvalidated: return "item_invalidated";
    case RecordEventType::kEvicted: return "evicted";
    case RecordEventType::kReady: return "ready";
    case RecordEventType::kError: return "error";
    case RecordEventType::kUpserted: return "upserted";
  }
  return "unknown";
}

Result<std::unique_ptr<RecordCache>> RecordCache::Open(std::shared_ptr<Source> source,
                                                       RecordCacheOptions options) {
  if (source == nullptr) return Status::InvalidArgument("source: required");
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  auto impl = std::make_unique<RecordCacheImpl>();
  impl->schema = source->schema();
  const Schema& schema = *impl->schema;
  impl->pk_index = schema.primary_key_index();
  impl->updated_at_index = schema.Find(options.updated_at_field);
  impl->clock = options.clock != nullptr ? options.clock : SystemClock();
  impl->executor =
      options.executor != nullptr ? options.executor : NewThreadPoolExecutor(options.loader_threads, 4096);
  if (options.ttl) {
    impl->ttl_ns = options.ttl->count();
    if (options.stale_while_revalidate) {
      impl->stale_ns = options.stale_ttl ? options.stale_ttl->count() : 2 * impl->ttl_ns;
      if (impl->stale_ns < 0) impl->stale_ns = kNever - 1;  // 2 x ttl overflowed: unbounded
    }
  }
  if (options.negative_ttl) impl->negative_ns = options.negative_ttl->count();

  CacheOptions store;
  store.clock = impl->clock;
  store.executor = impl->executor;
  store.maintenance_interval = Duration::zero();  // the record cache drives maintenance
  store.fail_safe_throttle = options.fail_safe_throttle;
  CacheOptions primary = store;
  primary.max_entries = options.max_size;
  primary.max_bytes = options.max_bytes;
  primary.expected_entries = options.max_size;
  primary.policy = options.policy;
  Result<std::unique_ptr<internal::CacheCore>> p = internal::CacheCore::Open(primary);
  if (!p.ok()) return p.status();
  impl->primary = std::move(*p);
  Result<std::unique_ptr<internal::CacheCore>> m = internal::CacheCore::Open(store);
  if (!m.ok()) return m.status();
  impl->misses = std::move(*m);
  for (const KeyField& k : options.key_fields) {
    const std::optional<size_t> i = schema.Find(k.name);
    if (!i) {
      return Status::InvalidArgument(fmt::format("key_fields: '{}' is not a field of {} ({})",
                                                 k.name, source->name(), schema.ToString()));
    }
    if (*i == impl->pk_index) continue;  // the primary key is always indexed
    for (const auto& existing : impl->indexes) {
      if (existing.field == k.name) {
        return Status::InvalidArgument(fmt::format("key_fields: '{}' appears twice", k.name));
      }
    }
    Result<std::unique_ptr<internal::CacheCore>> ix = internal::CacheCore::Open(store);
    if (!ix.ok()) return ix.status();
    std::unique_ptr<internal::CacheCore> chunks;
    if (!k.unique) {
      Result<std::unique_ptr<internal::CacheCore>> c = internal::CacheCore::Open(store);
      if (!c.ok()) return c.status();
      chunks = std::move(*c);
    }
    impl->indexes.push_back({k.name, *i, k.unique, std::move(*ix), std::move(chunks)});
  }
  impl->source = std::move(source);
  impl->options = std::move(options);
  impl->events = NewRecordEventHub();
  RecordCacheImpl* raw = impl.get();
  impl->primary_removals = impl->primary->Subscribe(
      [raw](const CacheEvent& ev) { raw->OnPrimaryRemoval(ev); },
      EventBit(EventType::kEvicted) | EventBit(EventType::kExpired));
  std::unique_ptr<RecordCache> cache(new RecordCache(std::move(impl)));
  cache->impl_->owner = cache.get();
  if (cache->impl_->options.maintenance_interval.count() > 0) {
    cache->impl_->maintenance = std::thread([raw] { raw->MaintenanceLoop(); });
  }
  return cache;
}

RecordCache::RecordCache(std::unique_ptr<RecordCacheImpl> impl) : impl_(std::move(impl)) {}

RecordCache::~RecordCache() {
  internal::UnregisterFromSignals(impl_.get());  // first: a signal being handled finishes with us alive
  impl_->Shutdown();
}

void RecordCacheImpl::Shutdown() {
  {
    std::lock_guard lock(maint_mu);
    if (stopping) return;
    stopping = true;
  }
  maint_cv.notify_all();
  if (maintenance.joinable()) maintenance.join();
  auto_refresh.store(false);
  DetachHooks();
  tasks->CloseAndWait();  // background reloads and AutoLoadInBackground
}

void RecordCacheImpl::MaintenanceLoop() {
  std::unique_lock lock(maint_mu);
  while (!stopping) {
    maint_cv.wait_for(lock, options.maintenance_interval, [&] { return stopping; });
    if (stopping) break;
    lock.unlock();
    RunMaintenance();
    lock.lock();
  }
}

void RecordCacheImpl::RunMaintenance() {
  primary->RunPendingMaintenance();
  misses->RunPendingMaintenance();
  for (Index& index : indexes) {
    index.store->RunPendingMaintenance();
    if (index.chunks) index.chunks->RunPendingMaintenance();
  }
  FlushRemovals();
  MaybeAutoRefresh();
}

void RecordCacheImpl::Log(LogLevel level, std::string_view message) const {
  if (options.logger) {
    options.logger(level, message);
  } else if (level >= LogLevel::kWarn) {
    std::fprintf(stderr, "larder[%.*s] %s: %.*s\n", static_cast<int>(source->name().size()),
                 source->name().data(), level == LogLevel::kWarn ? "warn" : "error",
                 static_cast<int>(message.size()), message.data());
  }
}

void RecordCacheImpl::EmitError(const Status& status, std::string_view what) {
  Log(LogLevel::kError, fmt::format("{}: {}", what, status.ToString()));
  if (!events->Wants(RecordEventBit(RecordEventType::kError))) return;
  RecordEvent ev;
  ev.type = RecordEventType::kError;
  ev.error = &status;
  events->Emit(ev);
}

// ---- public forwarding ----

RecordLookup RecordCache::GetById(const FieldValue& id) { return impl_->GetById(id); }
RecordLookup RecordCache::GetByKey(std::string_view field, const FieldValue& value) {
  return impl_->GetByKey(field, value);
}
std::vector<RecordLookup> RecordCache::GetManyByKey(std::string_view field,
                                                    std::span<const FieldValue> values) {
  return impl_->GetManyByKey(field, values);
}
Status RecordCache::Upsert(const Record& record) {
  if (!record.valid() || !(*record.schema_ptr() == *impl_->schema)) {
    return Status::InvalidArgument(
        fmt::format("record: its schema is not {}'s ({})", name(), impl_->schema->ToString()));
  }
  Status s = impl_->UpsertRow(record);
  impl_->FlushRemovals();
  if (s.ok() && impl_->events->Wants(RecordEventBit(RecordEventType::kUpserted))) {
    RecordEvent ev;
    ev.type = RecordEventType::kUpserted;
    ev.record = record.view();
    impl_->events->Emit(ev);
  }
  return s;
}
Status RecordCache::Invalidate(std::string_view field, const FieldValue& value) {
  return impl_->Invalidate(field, value);
}
void RecordCache::Clear() { impl_->Clear(); }
size_t RecordCache::MarkAllStale() { return impl_->MarkAllStale(); }
Status RecordCache::Clear(std::string_view field) { return impl_->ClearField(field); }
Status RecordCache::Sync(bool incremental) { return impl_->Sync(incremental, false); }
Status RecordCache::Refresh(bool force_full) {
  Status s = impl_->Sync(!force_full, false);
  if (s.ok() && impl_->events->Wants(RecordEventBit(RecordEventType::kRefreshed))) {
    RecordEvent ev;
    ev.type = RecordEventType::kRefreshed;
    impl_->events->Emit(ev);
  }
  return s;
}
Status RecordCache::AttachHooks() { return impl_->AttachHooks(); }
void RecordCache::DetachHooks() { impl_->DetachHooks(); }
Status RecordCache::AutoLoad() { return impl_->AutoLoad(); }
void RecordCache::AutoLoadInBackground() {
  {
    std::lock_guard lock(impl_->ready_mu);
    if (impl_->readiness == RecordCacheImpl::Readiness::kNotStarted) {
      impl_->readiness = RecordCacheImpl::Readiness::kLoading;
    }
  }
  RecordCacheImpl* impl = impl_.get();
  auto scope = impl_->tasks;
  const bool submitted = impl_->executor->TrySubmit([impl, scope] {
    if (!scope->Begin()) return;
    (void)impl->AutoLoad();  // its outcome is reported through WaitUntilReady and events
    scope->End();
  });
  if (!submitted) {
    std::lock_guard lock(impl_->ready_mu);
    impl_->readiness = RecordCacheImpl::Readiness::kFailed;
    impl_->ready_status = Status::ResourceExhausted("AutoLoadInBackground: the executor is full");
    impl_->ready_cv.notify_all();
  }
}
Status RecordCache::WaitUntilReady(Duration timeout) { return impl_->WaitUntilReady(timeout); }
bool RecordCache::IsReady() const {
  std::lock_guard lock(impl_->ready_mu);
  return impl_->readiness == RecordCacheImpl::Readiness::kReady;
}
void RecordCache::StartAutoRefresh() {
  impl_->last_auto_sync.store(impl_->clock->NowNanos());
  impl_->auto_refresh.store(impl_->options.refresh_interval.count() > 0);
}
void RecordCache::StopAutoRefresh() { impl_->auto_refresh.store(false); }
Result<SnapshotInfo> RecordCache::SaveSnapshot(const std::string& dir,
                                               const SaveSnapshotOptions& options) {
  return impl_->SaveSnapshot(dir, options);
}
Result<LoadSnapshotResult> RecordCache::LoadSnapshot(const std::string& dir,
                                                     const LoadSnapshotOptions& options) {
  return impl_->LoadSnapshot(dir, options);
}
std::string RecordCache::ToJson(bool include_meta) { return impl_->ToJson(include_meta); }
Status RecordCache::LoadFromJson(std::string_view text, bool has_meta) {
  return impl_->LoadFromJson(text, has_meta);
}
Subscription RecordCache::Subscribe(RecordListener listener, uint32_t mask) {
  return impl_->events->Subscribe(std::move(listener), mask);
}
const std::shared_ptr<const Schema>& RecordCache::schema() const noexcept { return impl_->schema; }
const RecordCacheOptions& RecordCache::options() const noexcept { return impl_->options; }
std::string_view RecordCache::name() const noexcept { return impl_->source->name(); }
size_t RecordCache::Size() const { return impl_->primary->Size(); }
void RecordCache::RunPendingMaintenance() { impl_->RunMaintenance(); }

// ---- statistics ----

RecordCacheStats RecordCache::GetStats() const {
  RecordCacheImpl& i = *impl_;
  RecordCacheStats st;
  const CacheStats primary = i.primary->GetStats();
  st.total = primary.entries;
  st.max_size = i.options.max_size;
  st.memory_bytes = primary.bytes;
  for (const auto& index : i.indexes) {
    const CacheStats s = index.store->GetStats();
    st.by_key.emplace_back(index.field, s.entries);  // values indexed (chunks not counted)
    st.memory_bytes += s.bytes;
    if (index.chunks) st.memory_bytes += index.chunks->GetStats().bytes;
  }
  st.hits = i.counters.Sum(RecordCacheImpl::kHits);
  st.misses = i.counters.Sum(RecordCacheImpl::kMisses);
  st.total_requests = st.hits + st.misses;
  st.hit_rate = st.total_requests == 0
                    ? 0
                    : std::round(10000.0 * static_cast<double>(st.hits) /
                                 static_cast<double>(st.total_requests)) /
                          100.0;
  st.evictions = i.evictions.load() - i.removal_baseline[0].load();
  st.expirations = i.expirations.load() - i.removal_baseline[1].load();
  const int64_t last = i.last_sync_wall_ms.load();
  if (last != 0) st.last_sync_at_ms = last;
  st.ttl = i.options.ttl;
  {
    std::lock_guard lock(i.sync_mu);
    st.syncing = i.running_sync != nullptr;
  }
  st.refresh_interval = i.options.refresh_interval;
  st.lazy_reload = i.options.lazy_reload;
  st.stale_while_revalidate = i.options.stale_while_revalidate;
  st.loads = i.counters.Sum(RecordCacheImpl::kLoads);
  st.load_failures = i.counters.Sum(RecordCacheImpl::kLoadFailures);
  st.load_nanos = i.counters.Sum(RecordCacheImpl::kLoadNanos);
  st.max_load_nanos = i.max_load_nanos.load();
  st.stale_hits = i.counters.Sum(RecordCacheImpl::kStaleHits);
  st.negative_hits = i.counters.Sum(RecordCacheImpl::kNegativeHits);
  st.shared_loads = i.counters.Sum(RecordCacheImpl::kSharedLoads);
  st.syncs = i.syncs.load();
  st.full_syncs = i.full_syncs.load();
  st.sync_joins = i.sync_joins.load();
  return st;
}

void RecordCache::ResetStats() {
  impl_->counters.Reset();
  impl_->max_load_nanos.store(0);
  impl_->removal_baseline[0].store(impl_->evictions.load());
  impl_->removal_baseline[1].store(impl_->expirations.load());
}

}  // namespace larder
