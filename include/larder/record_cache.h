// RecordCache: the rows of one table (a Source) in memory, by primary key and by secondary key
// fields, kept fresh by TTLs, stale-while-revalidate, read-through loads, periodic syncs and the
// source's change feed. The counterpart of sequelize-cache-manager's CacheManager.
//
// Reads take no lock: a lookup pins the record in place (RecordRef) instead of copying it.
// Lookups say which of three things happened: found, not found (the source has no such row),
// not loaded (a miss with lazy reload off); a source failure is a non-OK status in the result.
//
// Thread safety: every method may be called from any thread.
// Ownership: Open() returns the only owner; the source is shared. Destroying the cache stops its
// timers, detaches its hooks and waits for loads in flight. REQUIRES: no RecordRef of this cache
// is alive at destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/events.h"
#include "larder/record.h"
#include "larder/snapshot.h"
#include "larder/source.h"
#include "larder/status.h"

namespace larder {

class Executor;
struct RecordCacheImpl;

// A secondary index: unique (one record per value) or multi (many records share a value).
struct KeyField {
  std::string name{};
  bool unique = true;
};

enum class LogLevel : uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
using Logger = std::function<void(LogLevel level, std::string_view message)>;

struct RecordCacheOptions {
  // Secondary indexes (the seed's keyFields). The primary key is always indexed.
  std::vector<KeyField> key_fields{};
  // Time to live after a record is loaded or written; unset = records never expire.
  std::optional<Duration> ttl{};
  // Period of automatic syncs (incremental when the table has an updated-at field); zero = off.
  Duration refresh_interval = std::chrono::minutes(5);
  // Floor between two automatic syncs, however they are triggered.
  Duration min_auto_sync_interval = std::chrono::seconds(10);
  // Read-through on a miss and on an expired hit.
  bool lazy_reload = true;
  // Serve an expired record at once and reload it in the background (one reload per key).
  bool stale_while_revalidate = true;
  // How long after its write an expired record may still be served stale (and keeps serving
  // while reloads fail: fail-safe). Unset = twice the ttl. Ignored without a ttl or without
  // stale_while_revalidate. Must be at least the ttl.
  std::optional<Duration> stale_ttl{};
  // After a failed background reload, the next attempt for that key waits this long.
  Duration fail_safe_throttle = std::chrono::seconds(1);
  // Cache "the source has no such row" for this long; unset = off (as in the seed).
  std::optional<Duration> negative_ttl{};
  // Bound on cached records (the seed's maxSize) and on their summed weight; 0 = unbounded.
  size_t max_size = 0;
  size_t max_bytes = 0;
  // Which records a bounded cache gives up first (see CacheOptions::policy).
  EvictionPolicyKind policy = EvictionPolicyKind::kWTinyLfu;
  // Field compared against the sync watermark for incremental syncs.
  std::string updated_at_field = "updatedAt";
  // Every n-th automatic sync is full, to drop rows deleted from the table (incremental syncs
  // cannot see deletions); 0 = automatic syncs are never forced full.
  int full_sync_every = 12;
  // AutoLoad: when the initial full sync fails, become ready with an empty cache (and keep
  // retrying on the refresh timer) instead of reporting the failure.
  bool start_empty_on_failure = false;
  // Logging callback; unset = stderr, warnings and errors only.
  Logger logger{};
  // Time source; null = SystemClock(). Tests pass a ManualClock.
  std::shared_ptr<Clock> clock{};
  // Maintenance (expiry, reclamation, automatic syncs) period; zero = no background thread, the
  // application calls RunPendingMaintenance().
  Duration maintenance_interval = std::chrono::milliseconds(100);
  // Where background reloads and AutoLoadInBackground run; null = an internal pool.
  std::shared_ptr<Executor> executor{};
  size_t loader_threads = 2;
};

enum class LookupOutcome : uint8_t {
  kFound = 0,     // a record (possibly stale: RecordRef::stale())
  kNotFound = 1,  // the source has no such row (the seed's null)
  kNotLoaded = 2, // not cached and lazy reload is off (the seed's undefined)
};

// A cached record, pinned in place: reading it copies nothing. Move-only.
// REQUIRES: released on the thread that obtained it; keep it short-lived (see ValueHandle).
class RecordRef {
 public:
  RecordRef() noexcept = default;
  RecordRef(RecordRef&&) noexcept = default;
  RecordRef& operator=(RecordRef&&) noexcept = default;

  explicit operator bool() const noexcept { return handle_ || owned_.valid(); }
  RecordView view() const noexcept {
    return handle_ ? RecordView(schema_->get(), handle_.value()) : owned_.view();
  }
  FieldValue Get(std::string_view field) const noexcept { return view().Get(field); }
  FieldValue Get(size_t i) const noexcept { return view().Get(i); }
  // An owned copy that may outlive the pin and the cache, and be handed to other threads.
  Record ToRecord() const { return handle_ ? Record::FromView(*schema_, view()) : owned_; }
  // True when served past its ttl (stale-while-revalidate or fail-safe).
  bool stale() const noexcept { return stale_; }

 private:
  friend struct RecordCacheImpl;
  RecordRef(ValueHandle handle, const std::shared_ptr<const Schema>* schema, bool stale) noexcept
      : handle_(std::move(handle)), schema_(schema), stale_(stale) {}
  // A record that left the cache before it could be pinned (a load into a tiny bounded cache).
  explicit RecordRef(Record owned) noexcept : owned_(std::move(owned)) {}
  ValueHandle handle_;
  Record owned_;
  const std::shared_ptr<const Schema>* schema_ = nullptr;  // the cache's, not a copy: no refcount
  bool stale_ = false;
};

// What a lookup found.
class RecordLookup {
 public:
  RecordLookup() = default;
  RecordLookup(RecordLookup&&) noexcept = default;
  RecordLookup& operator=(RecordLookup&&) noexcept = default;

  // A source failure (or a bad argument); outcome() is then kNotLoaded.
  const Status& status() const noexcept { return status_; }
  bool ok() const noexcept { return status_.ok(); }
  LookupOutcome outcome() const noexcept { return outcome_; }
  bool found() const noexcept { return status_.ok() && outcome_ == LookupOutcome::kFound; }
  explicit operator bool() const noexcept { return found(); }
  // Records found: one for a primary or unique key, any number for a multi-valued key.
  size_t count() const noexcept { return first_ ? 1 + rest_.size() : 0; }
  // REQUIRES: i < count().
  const RecordRef& record(size_t i = 0) const noexcept { return i == 0 ? first_ : rest_[i - 1]; }

 private:
  friend struct RecordCacheImpl;
  Status status_;
  LookupOutcome outcome_ = LookupOutcome::kNotLoaded;
  RecordRef first_;
  std::vector<RecordRef> rest_;
};

// Frozen values.
enum class RecordEventType : uint8_t {
  kSynced = 0,           // a sync finished (full or incremental: `full_sync`, `rows`)
  kRefreshed = 1,        // Refresh() or an automatic refresh finished
  kCleared = 2,          // Clear() emptied the cache
  kClearedField = 3,     // Clear(field) dropped one index (`field`)
  kItemCreated = 4,      // the change feed created a record (`record`)
  kItemUpdated = 5,      // the change feed updated a record (`record`, the new version)
  kItemRemoved = 6,      // the change feed deleted a record (`record` when known, else `value`)
  kRefreshedItem = 7,    // a lookup loaded or reloaded a record (`record`)
  kItemInvalidated = 8,  // Invalidate(field, value) removed records (`field`, `value`)
  kEvicted = 9,          // a record version left the cache (`record`, `cause`)
  kReady = 10,           // AutoLoad finished: the cache is ready
  kError = 11,           // a sync, load or listener failed (`error`)
  kUpserted = 12,        // Upsert() wrote a record (`record`)
};
std::string_view RecordEventTypeName(RecordEventType type) noexcept;
inline constexpr uint32_t RecordEventBit(RecordEventType t) { return 1u << static_cast<int>(t); }
inline constexpr uint32_t kAllRecordEvents = 0x1fff;

struct RecordEvent {
  RecordEventType type = RecordEventType::kSynced;
  RecordView record{};         // valid only during the callback
  std::string_view field{};
  FieldValue value{};
  RemovalCause cause = RemovalCause::kExplicit;
  const Status* error = nullptr;
  bool full_sync = false;
  uint64_t rows = 0;
  // The operation ran inside a RemoteScope (cache.h): it applies another instance's change.
  bool remote = false;
};
using RecordListener = std::function<void(const RecordEvent&)>;

struct RecordCacheStats {
  // The seed's fields.
  uint64_t total = 0;                                 // records cached
  uint64_t max_size = 0;                              // 0 = unbounded
  std::vector<std::pair<std::string, uint64_t>> by_key{};  // index name -> values indexed
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;  // records dropped to honour max_size / max_bytes
  uint64_t total_requests = 0;
  double hit_rate = 0;     // percent, two decimals
  std::optional<int64_t> last_sync_at_ms{};  // wall-clock epoch milliseconds
  std::optional<Duration> ttl{};
  bool syncing = false;
  Duration refresh_interval{};
  bool lazy_reload = false;
  bool stale_while_revalidate = false;
  // larder's additions.
  uint64_t loads = 0;           // source calls that succeeded (point, IN and key loads)
  uint64_t load_failures = 0;
  uint64_t load_nanos = 0;      // total time in those calls
  uint64_t max_load_nanos = 0;  // slowest one
  uint64_t stale_hits = 0;      // lookups answered with a stale record
  uint64_t negative_hits = 0;   // lookups answered from the negative cache
  uint64_t shared_loads = 0;    // misses that waited for another caller's load of the same key
  uint64_t expirations = 0;
  uint64_t syncs = 0;
  uint64_t full_syncs = 0;
  uint64_t sync_joins = 0;      // Sync calls that waited for a sync already running
  uint64_t memory_bytes = 0;    // summed entry weights of records and index entries

  // Prometheus text exposition format (version 0.0.4): metric families named
  // larder_record_cache_<field>, each sample labelled cache="<cache_name>" when a name is given;
  // counters end in _total, the index sizes carry an index label.
  std::string ToPrometheus(std::string_view cache_name = {}) const;
};

class RecordCache {
 public:
  // Creates a cache over `source`. InvalidArgument names a bad option (an index on a field the
  // schema lacks, a stale_ttl below the ttl, ...).
  static Result<std::unique_ptr<RecordCache>> Open(std::shared_ptr<Source> source,
                                                   RecordCacheOptions options = {});
  ~RecordCache();
  RecordCache(const RecordCache&) = delete;
  RecordCache& operator=(const RecordCache&) = delete;

  // ---- Reads ----

  // The record with primary key `id`. Concurrent misses of one key share one source call, and
  // GetByKey(primary key field, id) shares with GetById(id). InvalidArgument (in the status)
  // when `id` does not have the primary key's type.
  RecordLookup GetById(const FieldValue& id);
  // The record(s) whose indexed `field` equals `value`; the record is checked to still carry
  // the value. InvalidArgument when `field` is not indexed.
  RecordLookup GetByKey(std::string_view field, const FieldValue& value);
  // One lookup per value, in order: hits from memory, all misses loaded with one source query
  // (split into IN lists of the source's max_batch), duplicates and loads in flight shared.
  std::vector<RecordLookup> GetManyByKey(std::string_view field,
                                         std::span<const FieldValue> values);
  // Every live (unexpired) record, copied.
  std::vector<Record> GetAll();
  // Whether a live record is cached under the value; never loads.
  bool Has(std::string_view field, const FieldValue& value);
  bool HasById(const FieldValue& id);
  // Whether the cached record `id` is past its ttl (false when absent or without a ttl).
  bool IsExpired(const FieldValue& id);
  // Records cached, including expired ones still kept for stale serving.
  size_t Size() const;

  // ---- Writes and invalidation ----

  // Caches `record` as the current version of its row (keeping every index exact), then emits
  // kUpserted. InvalidArgument when it is not of this cache's schema.
  Status Upsert(const Record& record);
  // Removes the record(s) whose `field` equals `value` from the cache entirely, every index
  // included, and emits kItemInvalidated. Not an error when nothing matched.
  Status Invalidate(std::string_view field, const FieldValue& value);
  // Empties the cache (kCleared).
  void Clear();
  // Makes every record revalidate, for resynchronising after changes may have been missed:
  // records with a stale window (ttl with stale_while_revalidate) expire now and are served
  // stale while one reload runs, as after their ttl; every other record is removed (kEvicted,
  // cause kExplicit). Returns how many records it affected.
  size_t MarkAllStale();
  // Drops the index on `field` (kClearedField); it refills as records are loaded or written.
  Status Clear(std::string_view field);

  // ---- Syncing ----

  // Full sync: reads every row, replaces the contents without ever showing an empty or half
  // loaded cache, and drops rows that vanished. Incremental: rows updated at or after the
  // largest updated-at value seen so far (full when the table has no such field). A call while
  // a sync runs waits for it and returns its status.
  Status Sync(bool incremental = false);
  // Incremental sync (full when forced or when the table cannot do incremental); kRefreshed.
  Status Refresh(bool force_full = false);
  // Subscribes to the source's change feed; a second call is a no-op. FailedPrecondition when
  // the source has no change feed.
  Status AttachHooks();
  void DetachHooks();
  // Attach hooks (when the source has a feed), full sync, start automatic refresh, then ready.
  Status AutoLoad();
  // AutoLoad on the executor; WaitUntilReady tells when it finished.
  void AutoLoadInBackground();
  // OK once ready; the initial load's error if it failed; DeadlineExceeded after `timeout`.
  Status WaitUntilReady(Duration timeout);
  bool IsReady() const;
  void StartAutoRefresh();
  void StopAutoRefresh();
  // On SIGINT or SIGTERM: calls `before_exit` (for example to save a snapshot), shuts every
  // registered cache down (timers, hooks, loads), then lets the signal take its default action.
  // The handler is installed once per process, however often this is called.
  void HandleProcessSignals(std::function<void(RecordCache&)> before_exit = {});

  // ---- Export and import ----

  // A JSON array of live records, or with meta every record as {"data": {...}, "expiresAt":
  // epoch_ms_or_null}.
  std::string ToJson(bool include_meta = false);
  // Accepts either shape; validates every element first and applies all or nothing
  // (InvalidArgument names the element index). With meta, expiry times are kept and records
  // already expired are skipped; without, each record gets a fresh ttl.
  Status LoadFromJson(std::string_view text, bool has_meta = false);

  // ---- Snapshots (larder/snapshot.h, docs/snapshot-format.md) ----

  // Saves every record that can still be served, with its deadline and stale window, plus the
  // schema and index definitions, as a new snapshot in `dir` (created when missing). Serves
  // throughout; records written during the save may or may not be in it. The snapshot's name is
  // options.name, or the source's name when empty. Errors as Cache::SaveSnapshot.
  Result<SnapshotInfo> SaveSnapshot(const std::string& dir, const SaveSnapshotOptions& options = {});
  // Restores a snapshot (the newest unless options.id) and rebuilds the secondary indexes from
  // its records. Refused with InvalidArgument, before anything is written, when the snapshot is
  // of a key-value cache, has another name (options.name, or the source's name when empty), a
  // different schema (fields, types, nullability, primary key) or different indexes; the
  // message names the difference. Every batch is read and every record validated first
  // (Corruption names the batch and entry), so on error nothing was loaded. Records expired
  // since the save are skipped; records the cache already holds, or that are written while the
  // load runs, keep their newer version. The cache's readiness is unchanged.
  Result<LoadSnapshotResult> LoadSnapshot(const std::string& dir,
                                          const LoadSnapshotOptions& options = {});

  // ---- Observation ----

  [[nodiscard]] Subscription Subscribe(RecordListener listener, uint32_t mask = kAllRecordEvents);
  RecordCacheStats GetStats() const;
  // GetStats() as Prometheus text, labelled with the cache's name (for a /metrics endpoint).
  std::string ExportPrometheus() const;
  // Zeroes hits, misses, loads and their kin (syncs never reset them).
  void ResetStats();
  const std::shared_ptr<const Schema>& schema() const noexcept;
  const RecordCacheOptions& options() const noexcept;
  std::string_view name() const noexcept;  // the source's name
  // One maintenance pass: expiry, reclamation and a due automatic sync. Deterministic with a
  // ManualClock.
  void RunPendingMaintenance();

 private:
  friend struct RecordCacheImpl;
  explicit RecordCache(std::unique_ptr<RecordCacheImpl> impl);
  std::unique_ptr<RecordCacheImpl> impl_;
};

}  // namespace larder
