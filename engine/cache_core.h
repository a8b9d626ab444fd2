// CacheCore: the implementation behind larder::Cache (public contract in include/larder/cache.h).
//
// Split by phase: cache_core.cc (open, shards, maintenance, stats), cache_read.cc (lookups),
// cache_write.cc (writes and removals), cache_load.cc (single flight, stale-while-revalidate).
//
// Synchronization domains:
//   constant after Open: options_, clock_, arena_, shards_, shard_shift_, executor_
//   per-shard state: guarded by each Shard::mu (see shard.h)
//   counters_: per-thread stripes; events_: its own lock
//   maintenance thread state: guarded by maintenance_mu_
#pragma once

#include "base/private.h"

#include <array>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/arena.h"
#include "base/epoch.h"
#include "base/hash.h"
#include "base/thread_counters.h"
#include "engine/event_hub.h"
#include "engine/shard.h"
#include "index/glob.h"
#include "larder/advanced/executor.h"
#include "larder/cache.h"
#include "larder/snapshot.h"

namespace larder::internal {

// The events a removal may emit.
inline constexpr EventMask kRemovalEvents =
    EventBit(EventType::kDelete) | EventBit(EventType::kExpired) | EventBit(EventType::kEvicted);

// How a loaded value is written: a plain TTL (GetOrSet) or a fresh/stale pair (GetWithStale).
struct LoadMode {
  WriteOptions write;  // used when stale is false
  bool stale = false;
  int64_t fresh_ttl = 0;  // ns, when stale
  int64_t stale_ttl = 0;  // ns, when stale
  // GetOrSetTimed: the ttl the fetcher gave (read after it ran), shortening write.ttl.
  const std::optional<Duration>* fetched_ttl = nullptr;
};

// Tracks background tasks so destruction can wait for running ones and cancel queued ones.
struct TaskScope {
  bool Begin() {
    std::lock_guard lock(mu);
    if (closed) return false;
    ++running;
    return true;
  }
  void End() {
    std::lock_guard lock(mu);
    if (--running == 0) cv.notify_all();
  }
  void CloseAndWait() {
    std::unique_lock lock(mu);
    closed = true;
    cv.wait(lock, [&] { return running == 0; });
  }
  std::mutex mu;
  std::condition_variable cv;
  int running = 0;
  bool closed = false;
};

class CacheCore {
 public:
  static Result<std::unique_ptr<CacheCore>> Open(CacheOptions options);
  ~CacheCore();

  // cache_read.cc (Get and LiveForRead are inline, below: they are the hot path)
  ValueHandle Get(std::string_view key);
  bool GetCopy(std::string_view key, std::string* value);
  bool Exists(std::string_view key);
  KeyTtl Ttl(std::string_view key);

  // cache_write.cc
  Status Set(std::string_view key, std::string_view value, const WriteOptions& options);
  Status SetMany(std::span<const KeyValue> items, const WriteOptions& options);
  bool Delete(std::string_view key);
  void Clear();
  // Removes the entries whose keys match `pattern`; returns how many were live.
  size_t InvalidatePattern(const index::GlobPattern& pattern);
  std::vector<std::string> Keys(const index::GlobPattern& pattern, size_t limit);
  size_t InvalidateByTag(std::string_view tag);
  size_t MarkAllStale();

  // cache_load.cc
  // `fetched_ttl`, when given, is where `fetch` leaves the ttl its value may be cached for.
  Result<std::string> GetOrSet(std::string_view key, const Fetcher& fetch,
                               const WriteOptions& options,
                               const std::optional<Duration>* fetched_ttl = nullptr);
  Result<std::string> GetOrSetTimed(std::string_view key, const TimedFetcher& fetch,
                                    const WriteOptions& options);
  Result<std::string> GetWithStale(std::string_view key, Fetcher fetch, Duration fresh_ttl,
                                   Duration stale_ttl);

  // cache_ops.cc: building blocks for RecordCache (internal callers only).
  enum class EntryState : uint8_t { kFresh, kStale };
  // Like Get, but also answers with a stale entry (past its deadline, before its stale-until),
  // saying which. Counts no hit or miss and records no access.
  ValueHandle Find(std::string_view key, EntryState* state);
  // Any stored entry, expired or not (until maintenance removes it).
  ValueHandle FindStored(std::string_view key);
  // Stores `value` with explicit deadlines (monotonic ns; kNever = none). With `replaced`, hands
  // back the version it replaced (pinned; empty when the key was new).
  Status Put(std::string_view key, std::string_view value, int64_t deadline, int64_t stale_until,
             ValueHandle* replaced = nullptr);
  // The checks Put makes before writing: InvalidArgument when `key` and `value` could never be
  // stored (sizes, a weight above the shard's share of max_bytes).
  Status CheckFits(std::string_view key, std::string_view value,
                   std::string_view encoded_tags = {}) const;
  // Starts loading the table line `key` would probe first, so that a bulk writer can overlap
  // the cache misses of several keys. REQUIRES: an epoch read section.
  void Prefetch(std::string_view key) const noexcept { PrefetchHash(HashKey(key)); }
  void PrefetchHash(uint64_t hash) const noexcept { ShardFor(hash).Prefetch(hash); }
  // What Mutate's function decides.
  struct MutateOp {
    enum Kind : uint8_t { kKeep, kPut, kDelete } kind = kKeep;
    std::string value{};
    int64_t deadline = kNever;
  };
  // Atomically replaces or deletes `key` under its shard lock: `fn` sees the current live value
  // (nullptr when absent or expired). REQUIRES: fn is quick and does not call into this cache.
  Status Mutate(std::string_view key, const std::function<MutateOp(const std::string_view*)>& fn);
  // Calls fn(key, value, deadline, stale_until) for every stored entry, expired ones included,
  // without locks; entries written during the walk may or may not be seen.
  void ForEach(const std::function<void(std::string_view, std::string_view, int64_t, int64_t)>& fn);
  // cache_snapshot.cc
  Result<SnapshotInfo> SaveSnapshot(const std::string& dir, const SaveSnapshotOptions& options);
  Result<LoadSnapshotResult> LoadSnapshot(const std::string& dir,
                                          const LoadSnapshotOptions& options);
  // One entry to restore from a snapshot.
  struct RestoreItem {
    uint64_t hash;
    EntrySpec spec;    // spec.tags is set from `tags` when the item is written
    std::string tags;  // encoded
  };
  // Writes each item whose key holds no entry that can still be served (fresh, or stale within
  // its window); such keys keep their current, newer value. Items are reordered (by shard).
  // Adds to *written and *kept. REQUIRES: every item passed CheckFits.
  Status Restore(std::span<RestoreItem> items, uint64_t* written, uint64_t* kept);

  // Sets when the next background refresh of a stale-capable entry may run.
  void SetRetryAt(std::string_view key, int64_t retry_at);
  const std::shared_ptr<Clock>& clock() const noexcept { return clock_; }

  // cache_core.cc
  Subscription Subscribe(EventListener listener, EventMask mask) {
    return events_->Subscribe(std::move(listener), mask);
  }
  CacheStats GetStats() const;
  void ResetStats();
  size_t Size() const;
  void RunPendingMaintenance();
  // Stops the maintenance thread and background loads (waiting for running ones); the cache
  // still serves. Idempotent.
  void Shutdown();
  const CacheOptions& options() const noexcept { return options_; }

  // For tests of the engine internals.
  size_t shard_count() const noexcept { return shards_.size(); }
  Shard& shard(size_t i) noexcept { return *shards_[i]; }
  // The top bits of the hash pick the shard; the low half picks the home slot.
  Shard& ShardFor(uint64_t hash) const noexcept { return *shards_[(hash >> 1) >> shard_shift_]; }

 private:
  enum Counter : size_t {
    kHits,
    kMisses,
    kStaleServed,
    kLoads,
    kLoadFailures,
    kLoadNanos,
    kRefreshes,
    kCoalesced,
    kCounterCount
  };

  explicit CacheCore(CacheOptions options);
  void MaintenanceLoop();

  // The token of the read section the calling thread is in, for a ValueHandle.
  static ReadPin Pin() noexcept {
    const epoch::PinToken t = epoch::CurrentPin();
    return {t.record, t.generation};
  }
  // True when `e` is live now; moves a sliding deadline. REQUIRES: epoch read section.
  bool LiveForRead(EntryHeader* e) const noexcept;
  bool Live(const EntryHeader* e) const noexcept {
    const int64_t d = e->deadline.load(std::memory_order_relaxed);
    return d == kNever || !clock_->Reached(d);
  }

  // Resolves `options` into an entry deadline, sliding ttl and tags, or InvalidArgument.
  // spec->tags views *tags, which the caller keeps alive while it uses the spec.
  Status ResolveWrite(const WriteOptions& options, int64_t now, EntrySpec* spec,
                      std::string* tags) const;
  Status CheckSizes(std::string_view key, std::string_view value) const;
  // InvalidArgument when key + value outweigh the share of max_bytes of the shard for `hash`.
  Status CheckWeight(uint64_t hash, std::string_view key, std::string_view value,
                     std::string_view encoded_tags = {}) const;
  // Stores a validated entry and emits `event` (kSet or kRefreshed) and removal events. A write
  // of `flight`'s load stores nothing once the flight is superseded; any other write
  // supersedes the key's flight.
  Status Write(uint64_t hash, const EntrySpec& spec, EventType event,
               ValueHandle* replaced = nullptr, bool loaded = false,
               const Flight* flight = nullptr);
  // Emits events for `removed` entries. REQUIRES: the epoch read section that covered the
  // removals is still open.
  void EmitRemovals(const Shard& shard, const RemovalList& removed,
                    InvalidationScope scope = InvalidationScope::kKey);
  // Emits `ev` (the hub marks it remote inside a RemoteScope).
  void Emit(CacheEvent& ev) { events_->Emit(ev); }
  // Reclaims retired memory of `shard` when enough piled up. Returns true when the epoch must
  // advance first: the caller then calls AdvanceEpoch() after releasing the lock.
  bool MaybeReclaim(Shard& shard) REQUIRES(shard.mu);
  static void AdvanceEpoch();
  // Appends the entries of `shard` whose keys match `pattern`: through the prefix index when
  // the shard has one and the pattern a literal prefix, else by a scan.
  static void Matching(Shard& shard, const index::GlobPattern& pattern, std::vector<NodeId>* out)
      REQUIRES(shard.mu);
  // Removes, shard by shard under its lock, the entries `select` appends; returns how many of
  // them were live. Reports each as a kDelete of `scope`, then (for a pattern or tag scope) one
  // kInvalidated naming `name`.
  size_t RemoveMatching(const std::function<void(Shard&, std::vector<NodeId>*)>& select,
                        InvalidationScope scope, std::string_view name);

  // cache_load.cc helpers
  Result<std::string> LoadShared(std::string_view key, uint64_t hash, const Fetcher& fetch,
                                 const LoadMode& mode);
  Result<std::string> RunFetch(std::string_view key, const Fetcher& fetch);
  Status WriteLoaded(std::string_view key, uint64_t hash, std::string_view value,
                     const LoadMode& mode, EventType event, const Flight& flight);
  void StartRefresh(std::string_view key, uint64_t hash, Fetcher fetch, const LoadMode& mode);
  void ThrottleRefresh(std::string_view key, uint64_t hash);

  CacheOptions options_;
  std::shared_ptr<Clock> clock_;
  std::unique_ptr<Arena> arena_;
  std::unique_ptr<SlabAllocator> sentinels_;  // shards' sentinel nodes; used only by Open
  // W-TinyLFU's window tuner, shared by every shard (declared first: outlives them).
  std::unique_ptr<WindowTuner> tuner_;
  std::vector<std::unique_ptr<Shard>> shards_;
  int shard_shift_ = 63;  // 63 - log2(shard count)
  std::shared_ptr<Executor> executor_;
  std::shared_ptr<TaskScope> tasks_ = std::make_shared<TaskScope>();
  std::shared_ptr<CacheEventHub> events_ = NewCacheEventHub();
  ThreadCounters<kCounterCount> counters_;
  // ResetStats baselines (removal counts live in the shards).
  std::array<std::atomic<uint64_t>, kRemovalCauseCount> removal_baseline_{};
  std::atomic<uint64_t> listener_error_baseline_{0};

  std::mutex maintenance_mu_;
  std::condition_variable maintenance_cv_;
  bool stopping_ = false;
  std::thread maintenance_thread_;
  std::mutex shutdown_mu_;  // serializes Shutdown()
};

// Renders a key for error messages: quoted, escaped, truncated.
std::string QuoteKey(std::string_view key);

inline bool CacheCore::LiveForRead(EntryHeader* e) const noexcept {
  const int64_t d = e->deadline.load(std::memory_order_relaxed);
  if (d == kNever) return true;
  if (clock_->Reached(d)) return false;
  if (e->flags & EntryHeader::kSliding) {
    // Move the deadline only when it gains more than ttl/16, so a hot sliding key writes its
    // line rarely; racing readers store nearly equal values.
    const int64_t ttl = e->sliding_ttl();
    const int64_t next = DeadlineAfter(clock_->CoarseNanos(), ttl);
    if (next - d > ttl / 16) e->deadline.store(next, std::memory_order_relaxed);
  }
  return true;
}

inline ValueHandle CacheCore::Get(std::string_view key) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::ThreadRecord* self = epoch::Enter();
  const uint64_t slot = shard.Find(hash, key);
  if (slot != 0) {
    EntryHeader* e = shard.Entry(Table::IdOf(slot));
    if (LiveForRead(e)) {
      shard.RecordAccess(e, slot, self->ordinal);
      counters_.Add(self->ordinal, kHits, 1);
      return ValueHandle(e->key(), e->value(), Pin());
    }
  }
  epoch::Exit();
  counters_.Add(self->ordinal, kMisses, 1);
  return {};
}

}  // namespace larder::internal
