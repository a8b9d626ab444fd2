// CacheCore: opening, shard layout, maintenance, statistics.
#include "engine/cache_core.h"

#include <algorithm>
#include <bit>
#include <chrono>

#include <fmt/format.h>

namespace larder::internal {
namespace {

constexpr size_t kMaxShards = 1024;
constexpr size_t kReclaimBatch = 512;

Status CheckOptions(const CacheOptions& o) {
  if (o.num_shards != 0 && (!std::has_single_bit(o.num_shards) || o.num_shards > kMaxShards)) {
    return Status::InvalidArgument(
        fmt::format("num_shards: must be 0 (automatic) or a power of two up to {}, got {}",
                    kMaxShards, o.num_shards));
  }
  if (o.default_ttl && o.default_ttl->count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("default_ttl: must be positive, got {} ns", o.default_ttl->count()));
  }
  if (o.maintenance_interval.count() < 0) {
    return Status::InvalidArgument("maintenance_interval: must not be negative");
  }
  if (o.fail_safe_throttle.count() < 0) {
    return Status::InvalidArgument("fail_safe_throttle: must not be negative");
  }
  if (o.executor == nullptr && (o.loader_threads == 0 || o.max_pending_loads == 0)) {
    return Status::InvalidArgument(
        "loader_threads and max_pending_loads: must be positive when no executor is given");
  }
  return Status::OK();
}

size_t AutoShards(const CacheOptions& o) {
  const size_t hw = std::max(1u, std::thread::hardware_concurrency());
  size_t n = std::clamp<size_t>(std::bit_ceil(hw * 4), 64, 256);
  // Small bounds: keep each shard's share large enough for LRU order to mean something.
  if (o.max_entries != 0) n = std::min(n, std::max<size_t>(1, std::bit_floor(o.max_entries / 512)));
  if (o.max_bytes != 0) {
    n = std::min(n, std::max<size_t>(1, std::bit_floor(o.max_bytes / (size_t{256} << 10))));
  }
  return n;
}

// Evenly splits `total` over `n` shards; shard i gets one more while i < total % n.
uint64_t Share(uint64_t total, size_t n, size_t i) {
  if (total == 0) return 0;
  return total / n + (i < total % n ? 1 : 0);
}

}  // namespace

std::string QuoteKey(std::string_view key) {
  constexpr size_t kShown = 64;
  std::string out = "'";
  for (size_t i = 0; i < key.size() && i < kShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(key[i]);
    if (c == '\'' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '\'';
  if (key.size() > kShown) out += fmt::format(" (first {} of {} bytes)", kShown, key.size());
  return out;
}

CacheCore::CacheCore(CacheOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<CacheCore>> CacheCore::Open(CacheOptions options) {
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  const size_t shards = options.num_shards != 0 ? options.num_shards : AutoShards(options);
  if (options.max_entries != 0 && options.max_entries < shards) {
    return Status::InvalidArgument(fmt::format(
        "max_entries: {} is smaller than num_shards ({}); each shard needs room for an entry",
        options.max_entries, shards));
  }
  if (options.max_bytes != 0 && options.max_bytes / shards < kEntryOverhead + 1) {
    return Status::InvalidArgument(fmt::format(
        "max_bytes: {} leaves each of the {} shards less than one entry's overhead ({} bytes)",
        options.max_bytes, shards, kEntryOverhead));
  }

  std::unique_ptr<CacheCore> core(new CacheCore(std::move(options)));
  const CacheOptions& o = core->options_;
  core->clock_ = o.clock != nullptr ? o.clock : SystemClock();
  Result<std::unique_ptr<Arena>> arena = Arena::Create();
  if (!arena.ok()) return arena.status();
  core->arena_ = std::move(*arena);
  core->sentinels_ = std::make_unique<SlabAllocator>(core->arena_.get());

  const size_t expected = o.expected_entries != 0 ? o.expected_entries : o.max_entries;
  if (o.policy == EvictionPolicyKind::kWTinyLfu &&
      o.window_adaptation == WindowAdaptation::kTuned && (o.max_entries != 0 || o.max_bytes != 0)) {
    // Same units as the shards' policies: bytes when a byte bound is set.
    const uint64_t capacity = o.max_bytes != 0 ? o.max_bytes : o.max_entries;
    uint64_t entries = o.max_entries;
    if (o.max_bytes != 0) entries = entries == 0 ? o.max_bytes / 64 : std::min<uint64_t>(entries, o.max_bytes / 64);
    core->tuner_ = std::make_unique<WindowTuner>(capacity, entries, o.max_bytes != 0);
  }
  const int64_t now = core->clock_->NowNanos();
  core->shard_shift_ = 63 - std::countr_zero(shards);
  core->shards_.reserve(shards);
  for (size_t i = 0; i < shards; ++i) {
    ShardLimits limits;
    limits.max_entries = Share(o.max_entries, shards, i);
    limits.max_bytes = Share(o.max_bytes, shards, i);
    // Pre-size to ~75% full at the expected count, leaving room for tombstones.
    const uint64_t per_shard = Share(expected, shards, i);
    // Entries a full shard holds: its count share, or for byte bounds at least share / 64 (no
    // entry weighs less than 64 bytes with the overhead).
    limits.expected_full = limits.max_entries;
    if (limits.max_bytes != 0) {
      const uint64_t by_bytes = limits.max_bytes / 64;
      limits.expected_full =
          limits.expected_full == 0 ? by_bytes : std::min(limits.expected_full, by_bytes);
    }
    limits.exact = limits.expected_full < o.exact_order_below;
    limits.weigher = &core->options_.weigher;
    limits.window = o.window_adaptation;
    limits.tuner = core->tuner_.get();
    limits.prefix_index = o.prefix_index;
    limits.min_capacity =
        static_cast<uint32_t>(std::min<uint64_t>(per_shard * 4 / 3 + 16, 1u << 30));
    Result<std::unique_ptr<Shard>> shard =
        Shard::Create(core->arena_.get(), *core->sentinels_, o.policy, limits, now);
    if (!shard.ok()) return shard.status();
    core->shards_.push_back(std::move(*shard));
  }

  core->executor_ = o.executor != nullptr
                        ? o.executor
                        : NewThreadPoolExecutor(o.loader_threads, o.max_pending_loads);
  if (o.maintenance_interval.count() > 0) {
    core->maintenance_thread_ = std::thread([c = core.get()] { c->MaintenanceLoop(); });
  }
  return core;
}

CacheCore::~CacheCore() {
  Shutdown();
  // Shards free their entries; the arena unmaps last (member order).
  shards_.clear();
  sentinels_.reset();
}

void CacheCore::Shutdown() {
  {
    std::lock_guard lock(maintenance_mu_);
    stopping_ = true;
  }
  maintenance_cv_.notify_all();
  {
    std::lock_guard lock(shutdown_mu_);  // a second caller waits for the first to finish
    if (maintenance_thread_.joinable()) maintenance_thread_.join();
    tasks_->CloseAndWait();
  }
}

void CacheCore::MaintenanceLoop() {
  std::unique_lock lock(maintenance_mu_);
  while (!stopping_) {
    maintenance_cv_.wait_for(lock, options_.maintenance_interval, [&] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    RunPendingMaintenance();
    lock.lock();
  }
}

void CacheCore::RunPendingMaintenance() {
  const int64_t now = clock_->NowNanos();
  const bool report = events_->Wants(EventBit(EventType::kExpired) | EventBit(EventType::kEvicted));
  for (const auto& shard : shards_) {
    epoch::Guard guard;  // keeps removed entries readable for the events below
    RemovalList removed;
    {
      MutexLock lock(shard->mu);
      shard->DrainReads();
      shard->Expire(now, report ? &removed : nullptr);
    }
    EmitRemovals(*shard, removed);
  }
  const uint64_t safe = epoch::TryAdvance();
  for (const auto& shard : shards_) {
    MutexLock lock(shard->mu);
    shard->Reclaim(safe);
    shard->ReleaseIdleSlabs();
  }
}

bool CacheCore::MaybeReclaim(Shard& shard) {
  if (shard.retired() < kReclaimBatch) return false;
  const uint64_t safe = epoch::SafeEpoch();
  if (!epoch::Reclaimable(shard.oldest_retired_tag(), safe)) return true;
  shard.Reclaim(safe);
  return false;
}

void CacheCore::AdvanceEpoch() {
  // Writers ask at most once a millisecond; the maintenance pass advances unconditionally.
  constexpr int64_t kMinAdvanceInterval = 1'000'000;
  epoch::TryAdvanceThrottled(kMinAdvanceInterval);
}

void CacheCore::EmitRemovals(const Shard& shard, const RemovalList& removed,
                             InvalidationScope scope) {
  for (const Removal& r : removed) {
    const EntryHeader* e = shard.Entry(r.id);
    CacheEvent ev;
    ev.type = r.cause == RemovalCause::kExpired ? EventType::kExpired
              : r.cause == RemovalCause::kSize  ? EventType::kEvicted
                                                : EventType::kDelete;
    ev.key = e->key();
    ev.value = e->value();
    ev.cause = r.cause;
    ev.scope = scope;
    Emit(ev);
  }
}

CacheStats CacheCore::GetStats() const {
  CacheStats st;
  for (const auto& shard : shards_) {
    st.entries += shard->entries();
    st.bytes += shard->bytes();
    for (int c = 0; c < kRemovalCauseCount; ++c) {
      st.removals[c] += shard->removals(static_cast<RemovalCause>(c));
    }
  }
  for (int c = 0; c < kRemovalCauseCount; ++c) {
    st.removals[c] -= removal_baseline_[c].load(std::memory_order_relaxed);
  }
  st.max_entries = options_.max_entries;
  st.max_bytes = options_.max_bytes;
  st.hits = counters_.Sum(kHits);
  st.misses = counters_.Sum(kMisses);
  const uint64_t reads = st.hits + st.misses;
  st.hit_rate = reads == 0 ? 0.0 : static_cast<double>(st.hits) / static_cast<double>(reads);
  st.evictions = st.removals[static_cast<int>(RemovalCause::kSize)];
  st.expirations = st.removals[static_cast<int>(RemovalCause::kExpired)];
  st.loads = counters_.Sum(kLoads);
  st.load_failures = counters_.Sum(kLoadFailures);
  st.load_nanos = counters_.Sum(kLoadNanos);
  st.stale_served = counters_.Sum(kStaleServed);
  st.refreshes = counters_.Sum(kRefreshes);
  st.coalesced_loads = counters_.Sum(kCoalesced);
  st.listener_errors =
      events_->listener_errors() - listener_error_baseline_.load(std::memory_order_relaxed);
  return st;
}

void CacheCore::ResetStats() {
  counters_.Reset();
  std::array<uint64_t, kRemovalCauseCount> totals{};
  for (const auto& shard : shards_) {
    for (int c = 0; c < kRemovalCauseCount; ++c) {
      totals[c] += shard->removals(static_cast<RemovalCause>(c));
    }
  }
  for (int c = 0; c < kRemovalCauseCount; ++c) {
    removal_baseline_[c].store(totals[c], std::memory_order_relaxed);
  }
  listener_error_baseline_.store(events_->listener_errors(), std::memory_order_relaxed);
}

size_t CacheCore::Size() const {
  size_t n = 0;
  for (const auto& shard : shards_) n += shard->entries();
  return n;
}

}  // namespace larder::internal
