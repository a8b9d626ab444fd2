// RecordCacheImpl: the implementation behind larder::RecordCache (contract in
// include/larder/record_cache.h). Split by phase: record_cache.cc (open, maintenance, stats,
// events), record_cache_read.cc, record_cache_write.cc, record_cache_load.cc,
// record_cache_sync.cc, record_cache_json.cc.
//
// Storage is three kinds of CacheCore: `primary` (encoded primary key -> record bytes, with ttl
// and stale window), one per secondary index (encoded value -> PkList), and `misses` (negative
// entries with negative_ttl). Writes to one primary key are serialized by a striped mutex so
// that a record and its index slots change together; reads take no lock and confirm that a
// record found through an index still carries the value.
//
// Lock order: a key stripe, then CacheCore shard locks (taken and released inside CacheCore
// calls). No CacheCore callback takes a stripe: records the primary evicts or expires are queued
// (pending_removals) and their index slots cleaned by FlushRemovals, called with no stripe held.
//
// Synchronization domains:
//   constant after Open: source, options, schema, clock, executor, stores, indexes, *_ns
//   stripes_: one mutex per group of primary keys (writes)
//   flights: FlightTable's own lock; events: the hub's lock; counters: per-thread stripes
//   sync_mu: sync state; ready_mu: readiness; hooks_mu: change-feed subscription;
//   removals_mu: pending removals; maint_mu: maintenance thread
#pragma once

#include "base/private.h"

#include <array>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/thread_counters.h"
#include "engine/cache_core.h"
#include "engine/event_hub.h"
#include "index/pk_chunks.h"
#include "larder/record_cache.h"

namespace larder {

using RecordEventHub = internal::EventHub<RecordEvent>;

struct RecordCacheImpl {
  // What a load found, shared with every caller waiting on the same key.
  struct LoadResult {
    Status status;
    std::vector<Record> rows;  // found rows (empty: not found)
  };
  struct LoadFlight {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    LoadResult result;
    void Complete(LoadResult r) {
      {
        std::lock_guard lock(mu);
        result = std::move(r);
        done = true;
      }
      cv.notify_all();
    }
    LoadResult Wait() {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done; });
      return result;
    }
  };

  struct Index {
    std::string field;
    size_t field_index;
    bool unique;
    std::unique_ptr<internal::CacheCore> store;   // value -> primary keys (or a directory)
    std::unique_ptr<internal::CacheCore> chunks;  // multi only: chunks of large values
  };

  enum Counter : size_t {
    kHits,
    kMisses,
    kStaleHits,
    kNegativeHits,
    kSharedLoads,
    kLoads,
    kLoadFailures,
    kLoadNanos,
    kCounterCount
  };

  // ---- constant after Open ----
  RecordCache* owner = nullptr;
  std::shared_ptr<Source> source;
  RecordCacheOptions options;
  std::shared_ptr<const Schema> schema;
  std::shared_ptr<Clock> clock;
  std::shared_ptr<Executor> executor;
  std::unique_ptr<internal::CacheCore> primary;
  std::unique_ptr<internal::CacheCore> misses;
  std::vector<Index> indexes;
  size_t pk_index = 0;
  std::optional<size_t> updated_at_index;
  int64_t ttl_ns = 0;       // 0 = no ttl
  int64_t stale_ns = 0;     // stale window length after the write; 0 = none
  int64_t negative_ns = 0;  // 0 = no negative caching

  // ---- writes ----
  static constexpr size_t kStripes = 256;
  std::array<std::mutex, kStripes> stripes_;
  std::mutex& StripeFor(std::string_view pk_key);
  // Writers of one multi-index value; taken inside a primary-key stripe. Few, because Clear
  // holds them all at once (and sanitizers track at most 64 locks held by one thread).
  static constexpr size_t kValueStripes = 32;
  std::array<std::mutex, kValueStripes> value_stripes_;
  std::atomic<uint32_t> chunk_generation_{0};

  // ---- loads ----
  std::mutex flights_mu;
  std::map<std::string, std::shared_ptr<LoadFlight>, std::less<>> flights;
  std::map<std::string, int64_t, std::less<>> retry_after;  // failed reloads, by flight key
  std::shared_ptr<internal::TaskScope> tasks = std::make_shared<internal::TaskScope>();

  // ---- observation ----
  std::shared_ptr<RecordEventHub> events;
  ThreadCounters<kCounterCount> counters;
  std::atomic<uint64_t> max_load_nanos{0};
  std::atomic<uint64_t> evictions{0};
  std::atomic<uint64_t> expirations{0};
  std::array<std::atomic<uint64_t>, 2> removal_baseline{};  // evictions, expirations at reset
  Subscription primary_removals;

  // ---- removals the primary made on its own (evicted, expired) ----
  struct PendingRemoval {
    std::string pk_key;
    std::string bytes;
    RemovalCause cause;
  };
  std::mutex removals_mu;
  std::vector<PendingRemoval> pending_removals;

  // ---- sync ----
  struct SyncRun {
    bool done = false;
    Status status;
  };
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  std::shared_ptr<SyncRun> running_sync;  // guarded by sync_mu
  std::optional<Value> watermark;         // guarded by sync_mu
  std::atomic<int64_t> last_sync_wall_ms{0};
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> full_syncs{0};
  std::atomic<uint64_t> sync_joins{0};
  int auto_syncs_since_full = 0;          // guarded by sync_mu
  // Keys written or removed by others while a sync applies rows (see Origin).
  std::atomic<int> syncs_applying{0};
  std::atomic<bool> any_touched{false};
  std::mutex touched_mu;
  std::unordered_set<std::string> touched;  // guarded by touched_mu
  std::atomic<bool> auto_refresh{false};
  std::atomic<int64_t> last_auto_sync{0};  // monotonic ns of the last automatic sync start
  std::atomic<bool> auto_sync_running{false};

  // ---- hooks and readiness ----
  std::mutex hooks_mu;
  std::unique_ptr<ChangeSubscription> hooks;  // guarded by hooks_mu
  enum class Readiness { kNotStarted, kLoading, kReady, kFailed };
  mutable std::mutex ready_mu;
  std::condition_variable ready_cv;
  Readiness readiness = Readiness::kNotStarted;  // guarded by ready_mu
  Status ready_status;                           // guarded by ready_mu

  // ---- maintenance thread ----
  std::mutex maint_mu;
  std::condition_variable maint_cv;
  bool stopping = false;
  std::thread maintenance;

  // record_cache.cc
  void Log(LogLevel level, std::string_view message) const;
  void EmitError(const Status& status, std::string_view what);
  void Shutdown();
  void MaintenanceLoop();
  void RunMaintenance();

  // record_cache_read.cc
  std::string PkKey(const FieldValue& pk) const;
  Status CheckType(const FieldSpec& field, const FieldValue& v) const;
  const Index* FindIndex(std::string_view field) const;
  RecordLookup GetById(const FieldValue& id);
  RecordLookup GetByKey(std::string_view field, const FieldValue& value);
  std::vector<RecordLookup> GetManyByKey(std::string_view field, std::span<const FieldValue> values);
  // Pins the cached records for `value` of `index` that still carry it.
  void CollectByIndex(const Index& index, const FieldValue& value, RecordLookup* out,
                      bool* any_fresh);
  RecordLookup Found(ValueHandle h, bool stale);
  static RecordLookup Failed(Status status);
  static RecordLookup Outcome(LookupOutcome outcome);

  // record_cache_write.cc
  // Caches `row` with deadlines (kNever = none) computed by the caller or from the options.
  Status UpsertRow(const Record& row, std::optional<int64_t> deadline = std::nullopt);
  // The keys a row is stored under: its primary key and, per index, its encoded value (empty
  // for null).
  struct RowKeys {
    std::string pk;
    std::vector<std::string> values;
  };
  RowKeys KeysOf(const Record& row) const;
  // Starts loading the table lines `keys` will probe (bulk writes overlap their cache misses).
  // REQUIRES: an epoch read section.
  void PrefetchKeys(const RowKeys& keys) const;
  // Who writes: a sync applying what it read, or anything else (the change feed, loads, the
  // API, imports). While a sync runs, other writers' keys are noted, and the sync then leaves
  // those records alone: what it read may be older than what they wrote.
  enum class Origin : uint8_t { kDirect, kSync };
  // UpsertRow with the keys computed already.
  Status UpsertKeyed(const Record& row, const RowKeys& keys, std::optional<int64_t> deadline,
                     Origin origin = Origin::kDirect);
  // Bracket a sync's (or snapshot load's) apply phase: while any runs, direct writes are noted;
  // the last one to end forgets them. REQUIRES: calls pair up.
  void BeginSyncApply();
  void EndSyncApply();
  // Notes a direct write of `pk_key` when a sync is running. REQUIRES: its stripe is held.
  void NoteDirectWrite(std::string_view pk_key);
  // Whether a direct write touched `pk_key` since the running sync began.
  bool TouchedDuringSync(std::string_view pk_key);
  // Removes the record cached under `pk_key`; reports it with `cause`. Returns whether one was.
  // A sync's removal leaves a record alone that another writer touched during the sync.
  bool RemoveByPkKey(const std::string& pk_key, RemovalCause cause, RecordEventType event,
                     Origin origin = Origin::kDirect);
  void AddSlot(const Index& index, std::string_view value_key, std::string_view pk_key);
  void RemoveSlot(const Index& index, const FieldValue& value, std::string_view pk_key);

  // record_cache_multi.cc: multi-index values, as one list or as chunks when large.
  std::mutex& ValueStripe(const Index& index, std::string_view value_key);
  // Removes `pk_key` from the value's list in one read-modify-write (deleting an emptied
  // entry); returns false, changing nothing, when the value is a directory of chunks.
  static bool RemoveFromList(internal::CacheCore& store, std::string_view value_key,
                             std::string_view pk_key);
  void AddMultiSlot(const Index& index, std::string_view value_key, std::string_view pk_key);
  void RemoveMultiSlot(const Index& index, std::string_view value_key, std::string_view pk_key);
  // Calls fn with each primary-key list of the value (one, or one per chunk), consistently.
  void ForEachIndexed(const Index& index, std::string_view value_key,
                      const std::function<void(ValueHandle)>& fn);
  std::vector<std::string> ChunkedKeys(const Index& index, std::string_view value_key,
                                       const index::ChunkDirectory& dir);
  // Writes `keys` as chunks under a fresh generation; returns the directory naming them.
  index::ChunkDirectory WriteChunks(const Index& index, std::string_view value_key,
                                    const std::vector<std::string>& keys);
  void AddChunked(const Index& index, std::string_view value_key, std::string_view pk_key,
                  index::ChunkDirectory dir);
  void DropChunks(const Index& index, std::string_view value_key, const index::ChunkDirectory& dir);
  // Holds every value stripe (Clear and Clear(field) against writers of chunked values).
  void LockAllValueStripes();
  void UnlockAllValueStripes();
  void FlushRemovals();
  void OnPrimaryRemoval(const CacheEvent& ev);
  void ApplyChanges(std::span<const Change> changes);
  void NegativePut(std::string key);
  void NegativeForget(const Record& row);
  std::string NegativeKeyForPk(std::string_view pk_key) const;
  std::string NegativeKeyForValue(const Index& index, const FieldValue& value) const;
  Status Invalidate(std::string_view field, const FieldValue& value);
  void Clear();
  size_t MarkAllStale();
  Status ClearField(std::string_view field);

  // record_cache_load.cc
  // Joins the load of `key` or becomes its leader; a leader must Finish it.
  std::shared_ptr<LoadFlight> JoinFlight(const std::string& key, bool* leader);
  void FinishFlight(const std::string& key, const std::shared_ptr<LoadFlight>& flight,
                    LoadResult result);
  LoadResult TimedLoad(const std::function<Status(std::vector<Record>*)>& load);
  LoadResult LoadById(const std::string& pk_key, const FieldValue& id);
  // The leader's half of LoadById, for a flight already claimed.
  LoadResult LeadLoadById(const std::string& pk_key, const FieldValue& id,
                          const std::shared_ptr<LoadFlight>& flight);
  LoadResult LoadByKey(const Index& index, const FieldValue& value);
  void ReloadInBackground(std::string pk_key, Value id);
  // Turns a load into a lookup: pins what it cached, or serves a copy when it is gone already.
  RecordLookup AfterLoad(const LoadResult& result, const std::string& pk_key);

  // record_cache_sync.cc
  Status Sync(bool incremental, bool automatic);
  Status RunFull(uint64_t* rows);
  Status RunIncremental(uint64_t* rows, bool* fell_back);
  void NoteWatermark(const Record& row, std::optional<Value>* max) const;
  Status AttachHooks();
  void DetachHooks();
  Status AutoLoad();
  Status WaitUntilReady(Duration timeout);
  void MaybeAutoRefresh();

  // record_cache_json.cc
  std::string ToJson(bool include_meta);
  Status LoadFromJson(std::string_view text, bool has_meta);

  // record_cache_snapshot.cc
  Result<SnapshotInfo> SaveSnapshot(const std::string& dir, const SaveSnapshotOptions& options);
  Result<LoadSnapshotResult> LoadSnapshot(const std::string& dir,
                                          const LoadSnapshotOptions& options);
  // InvalidArgument naming the first difference between `info`'s schema and indexes and ours.
  Status CheckSnapshotMatches(const SnapshotInfo& info, const std::string& dir) const;
};

}  // namespace larder
