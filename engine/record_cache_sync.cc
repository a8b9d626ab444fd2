// RecordCache syncing: full and incremental syncs, the change feed, AutoLoad and readiness,
// automatic refresh, and process signals.

#include <chrono>
#include <mutex>
#include <thread>
#include <random>

#include <fmt/format.h>

#include "engine/record_bulk.h"
#include "engine/process_signals.h"
#include "engine/record_cache_impl.h"
#include "index/key_codec.h"
#include "larder/advanced/executor.h"

namespace larder {
namespace {

// Orders watermark values of one type.
bool ValueLess(const FieldValue& a, const FieldValue& b) {
  if (a.type() == FieldType::kTimestamp) return a.as_timestamp().micros < b.as_timestamp().micros;
  return a.as_int64() < b.as_int64();
}

}  // namespace

void RecordCacheImpl::NoteWatermark(const Record& row, std::optional<Value>* max) const {
  if (!updated_at_index) return;
  const FieldValue v = row.Get(*updated_at_index);
  if (v.type() != FieldType::kTimestamp && v.type() != FieldType::kInt64) return;
  if (!*max || ValueLess((*max)->view(), v)) *max = Value(v);
}

Status RecordCacheImpl::RunFull(uint64_t* rows) {
  // The primary keys read, as fingerprints with a fresh seed (see fingerprint_set.h).
  BulkUpsert bulk(this, Origin::kSync, /*parallel=*/true,
                  std::random_device{}() ^ static_cast<uint64_t>(clock->NowNanos()));
  std::optional<Value> max;
  Status s = source->FindAll([&](Record&& row) {
    NoteWatermark(row, &max);
    ++*rows;
    return bulk.Add(std::move(row));
  });
  const Status applied = bulk.Finish();
  if (s.ok()) s = applied;
  if (!s.ok()) return s;  // what was read stays cached; nothing is dropped on a failed sync
  const internal::FingerprintSet& seen = bulk.seen();
  // Rows that vanished from the table go; everything else stayed readable throughout.
  std::vector<std::string> vanished;
  primary->ForEach([&](std::string_view key, std::string_view, int64_t, int64_t) {
    if (!seen.Contains(key)) vanished.emplace_back(key);
  });
  for (const std::string& key : vanished) {
    // Written since the sync began (a change-feed insert, a load): not vanished, just newer.
    RemoveByPkKey(key, RemovalCause::kExplicit, RecordEventType::kEvicted, Origin::kSync);
  }
  std::lock_guard lock(sync_mu);
  watermark = std::move(max);  // from the data, not the local clock
  return Status::OK();
}

Status RecordCacheImpl::RunIncremental(uint64_t* rows, bool* fell_back) {
  std::optional<Value> from;
  {
    std::lock_guard lock(sync_mu);
    from = watermark;
  }
  if (!from) {
    *fell_back = true;
    return RunFull(rows);
  }
  std::optional<Value> max = from;
  BulkUpsert bulk(this, Origin::kSync, /*parallel=*/true,
                  std::random_device{}() ^ static_cast<uint64_t>(clock->NowNanos()));
  Status s = source->FindUpdatedSince(options.updated_at_field, from->view(), [&](Record&& row) {
    NoteWatermark(row, &max);
    ++*rows;
    return bulk.Add(std::move(row));
  });
  const Status applied = bulk.Finish();
  if (s.ok()) s = applied;
  if (s.code() == Status::Code::kFailedPrecondition) {  // no updated-at column after all
    Log(LogLevel::kWarn, fmt::format("{}: {}; syncing in full", source->name(), s.message()));
    *fell_back = true;
    return RunFull(rows);
  }
  if (!s.ok()) return s;
  std::lock_guard lock(sync_mu);
  watermark = std::move(max);
  return Status::OK();
}

Status RecordCacheImpl::Sync(bool incremental, bool automatic) {
  std::shared_ptr<SyncRun> run;
  {
    std::unique_lock lock(sync_mu);
    if (running_sync != nullptr) {  // join the sync in progress instead of returning early
      std::shared_ptr<SyncRun> joined = running_sync;
      sync_joins.fetch_add(1);
      sync_cv.wait(lock, [&] { return joined->done; });
      return joined->status;
    }
    run = std::make_shared<SyncRun>();
    running_sync = run;
    if (automatic && incremental && options.full_sync_every > 0 &&
        ++auto_syncs_since_full >= options.full_sync_every) {
      incremental = false;  // catch deletions incremental syncs cannot see
    }
    if (!incremental) auto_syncs_since_full = 0;
  }
  uint64_t rows = 0;
  bool full = !incremental || !updated_at_index;
  Status s;
  BeginSyncApply();  // before the source is read
  if (full) {
    s = RunFull(&rows);
  } else {
    bool fell_back = false;
    s = RunIncremental(&rows, &fell_back);
    full = fell_back;
  }
  EndSyncApply();
  syncs.fetch_add(1);
  if (full) full_syncs.fetch_add(1);
  if (s.ok()) last_sync_wall_ms.store(clock->ToWallMillis(clock->NowNanos()));
  {
    std::lock_guard lock(sync_mu);
    run->status = s;
    run->done = true;
    running_sync = nullptr;
  }
  sync_cv.notify_all();
  if (!s.ok()) {
    EmitError(s, fmt::format("{} sync of {}", full ? "full" : "incremental", source->name()));
  } else if (events->Wants(RecordEventBit(RecordEventType::kSynced))) {
    RecordEvent ev;
    ev.type = RecordEventType::kSynced;
    ev.full_sync = full;
    ev.rows = rows;
    events->Emit(ev);
  }
  return s;
}

Status RecordCacheImpl::AttachHooks() {
  std::lock_guard lock(hooks_mu);
  if (hooks != nullptr) return Status::OK();  // attaching twice is attaching once
  Result<std::unique_ptr<ChangeSubscription>> sub =
      source->SubscribeChanges([this](std::span<const Change> changes) { ApplyChanges(changes); });
  if (!sub.ok()) return sub.status();
  hooks = std::move(*sub);
  return Status::OK();
}

void RecordCacheImpl::DetachHooks() {
  std::unique_ptr<ChangeSubscription> old;
  {
    std::lock_guard lock(hooks_mu);
    old = std::move(hooks);
  }
  old.reset();  // outside hooks_mu: it waits for a delivery in progress, which may attach
}

Status RecordCacheImpl::AutoLoad() {
  {
    std::lock_guard lock(ready_mu);
    readiness = Readiness::kLoading;
  }
  // Hooks first, then the sync: a change committed during the sync arrives through the feed
  // instead of falling in the gap between the end of the scan and the subscription.
  Status hooked = AttachHooks();
  if (!hooked.ok() && hooked.code() != Status::Code::kFailedPrecondition) {
    Log(LogLevel::kWarn, fmt::format("{}: no change feed: {}", source->name(), hooked.ToString()));
  }
  Status s = Sync(false, false);
  if (!s.ok() && !options.start_empty_on_failure) {
    DetachHooks();
    std::lock_guard lock(ready_mu);
    readiness = Readiness::kFailed;
    ready_status = s;
    ready_cv.notify_all();
    return s;
  }
  if (!s.ok()) {
    Log(LogLevel::kWarn, fmt::format("{}: initial load failed, starting empty: {}",
                                     source->name(), s.ToString()));
  }
  owner->StartAutoRefresh();
  {
    std::lock_guard lock(ready_mu);
    readiness = Readiness::kReady;
    ready_status = Status::OK();
  }
  ready_cv.notify_all();
  if (events->Wants(RecordEventBit(RecordEventType::kReady))) {
    RecordEvent ev;
    ev.type = RecordEventType::kReady;
    events->Emit(ev);
  }
  return Status::OK();
}

Status RecordCacheImpl::WaitUntilReady(Duration timeout) {
  // Measured on the cache's clock (a ManualClock in tests), polled in short real-time slices.
  const int64_t deadline = DeadlineAfter(clock->NowNanos(), timeout.count());
  std::unique_lock lock(ready_mu);
  for (;;) {
    if (readiness == Readiness::kReady) return Status::OK();
    if (readiness == Readiness::kFailed) return ready_status;
    if (clock->Reached(deadline)) {
      return Status::DeadlineExceeded(
          fmt::format("{} not ready after {} ms", source->name(), timeout.count() / 1'000'000));
    }
    ready_cv.wait_for(lock, std::chrono::milliseconds(1));
  }
}

void RecordCacheImpl::MaybeAutoRefresh() {
  if (!auto_refresh.load() || options.refresh_interval.count() <= 0) return;
  const int64_t now = clock->NowNanos();
  const int64_t interval = std::max(options.refresh_interval, options.min_auto_sync_interval).count();
  if (now - last_auto_sync.load() < interval) return;
  bool expected = false;
  if (!auto_sync_running.compare_exchange_strong(expected, true)) return;
  last_auto_sync.store(now);
  auto scope = tasks;
  const bool submitted = executor->TrySubmit([this, scope] {
    if (!scope->Begin()) return;
    Status s = Sync(/*incremental=*/true, /*automatic=*/true);
    if (s.ok() && events->Wants(RecordEventBit(RecordEventType::kRefreshed))) {
      RecordEvent ev;
      ev.type = RecordEventType::kRefreshed;
      events->Emit(ev);
    }
    auto_sync_running.store(false);
    scope->End();
  });
  if (!submitted) auto_sync_running.store(false);
}

// ---- process signals ----

void RecordCache::HandleProcessSignals(std::function<void(RecordCache&)> before_exit) {
  RecordCacheImpl* impl = impl_.get();
  internal::RegisterForSignals(impl, [impl, hook = std::move(before_exit)] {
    if (hook) hook(*impl->owner);
    impl->Shutdown();
  });
}

}  // namespace larder
