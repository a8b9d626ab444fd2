// Cache: an in-process key-value cache with TTL, bounds, single-flight loading and
// stale-while-revalidate. Start here.
//
// Keys and values are byte strings. Entries live in a sharded hash table whose reads take no
// lock and write no shared cache line: Get() hands out a ValueHandle that pins the value in place
// (epoch-based reclamation) instead of copying it or bumping a reference count.
//
// Thread safety: every method may be called from any thread at any time.
// Ownership: Open() returns the only owner. Destroying the cache stops its maintenance thread and
// waits for its background loads. REQUIRES: no ValueHandle of this cache is alive at destruction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/clock.h"
#include "larder/events.h"
#include "larder/snapshot.h"
#include "larder/stats.h"
#include "larder/status.h"

namespace larder {

class Executor;

// Documented limits; larger arguments are refused with InvalidArgument.
inline constexpr size_t kMaxKeySize = 65535;
inline constexpr size_t kMaxValueSize = size_t{512} << 20;
// Accounting weight of one entry: key + value + this overhead (see docs/design.md), plus, for
// tagged entries, the tags' bytes and 32 per tag, and 80 with CacheOptions::prefix_index (the
// index nodes).
inline constexpr size_t kEntryOverhead = 48;
inline constexpr size_t kMaxTags = 64;
inline constexpr size_t kMaxTagSize = 255;

// Which entries a bounded cache gives up (docs/eviction.md compares them on real traces).
enum class EvictionPolicyKind : uint8_t {
  kLru = 0,       // least recently used
  kWTinyLfu = 1,  // window TinyLFU with an adaptive window: recency and frequency (default)
  kS3Fifo = 2,    // small/main/ghost FIFO queues: strong on recency-biased traffic
};

// How W-TinyLFU sizes its admission window (the recency part of the cache).
enum class WindowAdaptation : uint8_t {
  kTuned = 0,         // shadow caches try five window sizes on sampled keys; the best wins (default)
  kHillClimbing = 1,  // climb on the hit rate from sample to sample, as Caffeine does
  kFixed = 2,         // keep 1% of the capacity
};

// Weight of an entry for max_bytes, from its key and value. Must be cheap, pure (same answer for
// the same key and value) and must not call into the cache; it runs under a shard lock.
// 0 pins the entry: it does not count towards the bounds and is never evicted.
using Weigher = std::function<uint64_t(std::string_view key, std::string_view value)>;

struct CacheOptions {
  // Bound on stored entries; 0 = unbounded. Each shard owns an equal share and evicts by its own
  // policy, so the cache never holds more than max_entries (pinned entries aside).
  size_t max_entries = 0;
  // Bound on summed entry weights (key + value + kEntryOverhead and more, or the weigher's); 0 =
  // unbounded. Split across shards like max_entries: an entry heavier than one shard's share is
  // refused.
  size_t max_bytes = 0;
  // Custom entry weight for max_bytes; null = key + value + kEntryOverhead.
  Weigher weigher{};
  // TTL for writes that give none; unset = such entries never expire.
  std::optional<Duration> default_ttl{};
  // Number of shards, a power of two up to 1024; 0 = automatic (enough for the machine's cores,
  // fewer when small bounds would leave each shard a tiny share).
  size_t num_shards = 0;
  // Expected entry count, to size the tables up front; 0 = derive from max_entries or grow.
  size_t expected_entries = 0;
  EvictionPolicyKind policy = EvictionPolicyKind::kWTinyLfu;
  // Shards holding fewer entries than this when full keep an exact policy order (every read
  // reorders at once); larger shards promote lazily when choosing a victim, which keeps reads
  // cheap (docs/decisions/0006-lazy-promotion.md). 0 = always lazy; SIZE_MAX = always exact.
  size_t exact_order_below = 2048;
  // W-TinyLFU only (docs/decisions/0012-w-tinylfu.md compares the choices on real traces).
  WindowAdaptation window_adaptation = WindowAdaptation::kTuned;
  // Keep every shard's keys in order too, so that InvalidatePattern and Keys visit only the keys
  // under a pattern's literal prefix ("companies:list:*" reads the companies:list: keys, not the
  // cache). Costs about 64 bytes and an O(log n) tree update per write (docs/invalidation.md).
  bool prefix_index = false;
  // Time source; null = SystemClock(). Tests pass a ManualClock.
  std::shared_ptr<Clock> clock{};
  // Period of the background maintenance thread (expiry, eviction bookkeeping, memory
  // reclamation). Zero = no thread: the application calls RunPendingMaintenance() itself.
  Duration maintenance_interval = std::chrono::milliseconds(100);
  // Where background refreshes run; null = an internal pool of `loader_threads` threads with a
  // queue of `max_pending_loads`. When the queue is full a refresh is skipped (stale serves on).
  std::shared_ptr<Executor> executor{};
  size_t loader_threads = 2;
  size_t max_pending_loads = 1024;
  // After a failed background refresh, the stale value serves this long before the next refresh
  // attempt, so a failing source is not hammered.
  Duration fail_safe_throttle = std::chrono::seconds(1);
};

struct WriteOptions {
  // Time to live from this write; unset = CacheOptions::default_ttl. Must be positive.
  std::optional<Duration> ttl{};
  // Expire after access: each read moves the deadline to now + ttl (to within ttl/16).
  // REQUIRES: a ttl (here or the default).
  bool sliding = false;
  // Never evicted and not counted towards max_entries / max_bytes (expiry and explicit removal
  // still apply). For entries the application cannot do without.
  bool pin = false;
  // Labels for InvalidateByTag (for example "company:42", "lists"). At most kMaxTags per entry,
  // each 1..kMaxTagSize bytes; duplicates count once. A rewrite of the key replaces its tags.
  std::vector<std::string> tags{};
};

struct KeyValue {
  std::string_view key{};
  std::string_view value{};
};

// The remaining life of a key, as Redis's TTL reports it.
struct KeyTtl {
  bool exists = false;                // a live entry is stored under the key
  std::optional<Duration> remaining;  // set when it has a deadline; unset = never expires
};

// Produces a value for a cache miss. Errors (a non-OK Result or an exception) are returned to
// every caller waiting on the same key and nothing is cached.
using Fetcher = std::function<Result<std::string>()>;

// What a fetcher that knows how long its value stays valid returns (a Redis PTTL, an HTTP
// max-age): `ttl`, when set, shortens the ttl the value is cached with.
struct TimedValue {
  std::string value;
  std::optional<Duration> ttl;
};
using TimedFetcher = std::function<Result<TimedValue>()>;

namespace internal {
class CacheCore;
// The read section a handle holds (opaque here): which thread's record, which owner of it.
struct ReadPin {
  void* record = nullptr;
  uint32_t generation = 0;
};
void ReleaseReadPin(ReadPin pin) noexcept;
}  // namespace internal

// Read access to one cached value, without a copy. While alive, the bytes stay valid even if the
// entry is overwritten, deleted or evicted meanwhile. Move-only. May be handed to and released
// on another thread; the memory it pins is then fully released when the obtaining thread next
// calls into larder or exits. Keep handles short-lived: a held handle delays the reuse of memory
// freed by writes anywhere in the process.
class ValueHandle {
 public:
  ValueHandle() noexcept = default;
  ValueHandle(ValueHandle&& other) noexcept
      : key_(other.key_), value_(other.value_), pin_(std::exchange(other.pin_, {})) {}
  ValueHandle& operator=(ValueHandle&& other) noexcept {
    if (this != &other) {
      Release();
      key_ = other.key_;
      value_ = other.value_;
      pin_ = std::exchange(other.pin_, {});
    }
    return *this;
  }
  ValueHandle(const ValueHandle&) = delete;
  ValueHandle& operator=(const ValueHandle&) = delete;
  ~ValueHandle() { Release(); }

  // True when the lookup found a live entry.
  explicit operator bool() const noexcept { return pin_.record != nullptr; }
  // REQUIRES: *this is true.
  std::string_view key() const noexcept { return key_; }
  std::string_view value() const noexcept { return value_; }

  // Drops the pin early; the handle becomes empty.
  void Release() noexcept {
    if (pin_.record != nullptr) internal::ReleaseReadPin(std::exchange(pin_, {}));
  }

 private:
  friend class internal::CacheCore;
  ValueHandle(std::string_view key, std::string_view value, internal::ReadPin pin) noexcept
      : key_(key), value_(value), pin_(pin) {}

  std::string_view key_;
  std::string_view value_;
  internal::ReadPin pin_;
};

// While alive, the cache operations of the constructing thread report their events with
// CacheEvent::remote set: whatever applies another instance's changes (a backplane) does so
// inside one, so that it can tell them from local ones and does not send them back. Nests.
// Thread-affine: destroy it on the thread that created it.
class RemoteScope {
 public:
  RemoteScope() noexcept;
  ~RemoteScope();
  RemoteScope(const RemoteScope&) = delete;
  RemoteScope& operator=(const RemoteScope&) = delete;
  // True when the calling thread is inside a RemoteScope.
  static bool Active() noexcept;
};

class Cache {
 public:
  // Creates a cache. InvalidArgument names the offending option (for example num_shards not a
  // power of two); ResourceExhausted when address space for the entry arena cannot be reserved.
  static Result<std::unique_ptr<Cache>> Open(CacheOptions options = {});

  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;
  ~Cache();

  // ---- Reads. A key past kMaxKeySize is simply never found. ----

  // Looks up `key`. The handle is empty when no live entry exists; an entry is expired, and so
  // absent, once now >= its deadline. Counts a hit or a miss. A sliding entry's deadline moves.
  [[nodiscard]] ValueHandle Get(std::string_view key);
  // Copying convenience: true and *value filled when found; *value untouched otherwise.
  [[nodiscard]] bool Get(std::string_view key, std::string* value);
  // Calls fn(std::string_view value) while the value is pinned; returns whether it was found.
  template <typename Fn>
  bool Visit(std::string_view key, Fn&& fn) {
    ValueHandle handle = Get(key);
    if (!handle) return false;
    std::forward<Fn>(fn)(handle.value());
    return true;
  }
  // Copies of the values of `keys`, in order; unset where absent.
  std::vector<std::optional<std::string>> GetMany(std::span<const std::string_view> keys);

  // True when a live entry exists. Not counted as a hit or miss; does not move a sliding
  // deadline or the entry's recency.
  [[nodiscard]] bool Exists(std::string_view key);
  // The remaining life of `key`.
  [[nodiscard]] KeyTtl Ttl(std::string_view key);

  // ---- Writes ----

  // Stores `value` under `key`, replacing any previous value. InvalidArgument when the key or
  // value is too large, the ttl is not positive, sliding is asked without a ttl, or the entry
  // alone outweighs its shard's share of max_bytes. May evict other entries to honour bounds.
  Status Set(std::string_view key, std::string_view value, const WriteOptions& options = {});
  // Validates every item first, then stores them all; on InvalidArgument nothing was stored and
  // the message names the item's index.
  Status SetMany(std::span<const KeyValue> items, const WriteOptions& options = {});
  // Removes `key`; true when a live entry was removed. Reported as the kDelete of the entry (if
  // there was one), then a kInvalidated of scope kKey naming the key, removed or not.
  bool Delete(std::string_view key);
  // Removes each key (reported as Delete does); returns how many live entries were removed.
  size_t DeleteMany(std::span<const std::string_view> keys);
  // Removes every entry (one kClear event).
  void Clear();
  // Makes every entry revalidate: entries written with a stale window (GetWithStale) become
  // stale now (served while one background refresh runs, as after their fresh ttl), every other
  // entry is removed (a kDelete each). For resynchronising after changes may have been missed.
  // Returns how many live entries it affected.
  size_t MarkAllStale();
  // Removes every entry whose key matches `pattern`, in Redis glob syntax: * (any run), ? (any
  // byte), [abc] [a-z] [^abc] (classes), \x (x itself). Returns how many live entries it removed
  // (each reported as a kDelete event of scope kPattern, then one kInvalidated naming the
  // pattern). Malformed patterns (unterminated [, empty class, reversed range, trailing \) are
  // InvalidArgument naming the position; nothing is removed. Matching never backtracks (no
  // blow-up on patterns like *a*a*a*b); a pattern without wildcards is a Delete (and reported as
  // one).
  // Cost: with CacheOptions::prefix_index, the keys under the pattern's literal prefix (the part
  // before its first wildcard); without it, or when the pattern starts with a wildcard, every
  // key. Either way a shard at a time, under its lock.
  Result<size_t> InvalidatePattern(std::string_view pattern);
  // The live keys matching `pattern` (syntax and errors as InvalidatePattern), at most `limit`
  // of them (0 = all), in no particular order. Removes nothing: a dry run of InvalidatePattern.
  // Visits what InvalidatePattern visits (under each shard's lock when it uses the prefix index,
  // else without locks), so keys written meanwhile may or may not be listed.
  Result<std::vector<std::string>> Keys(std::string_view pattern, size_t limit = 0);
  // Removes every entry written with `tag` in WriteOptions::tags; returns how many live entries
  // it removed (each a kDelete event of scope kTag, then one kInvalidated naming the tag). Cost:
  // the tagged entries only (each shard keeps an index from tag to entries). An unknown tag
  // removes nothing.
  size_t InvalidateByTag(std::string_view tag);

  // ---- Loading ----

  // Returns the cached value or runs `fetch` once for all concurrent callers of the same key
  // (single flight), caches its value with `options`, and returns it to each of them. A fetch
  // error reaches every waiter and caches nothing.
  Result<std::string> GetOrSet(std::string_view key, const Fetcher& fetch,
                               const WriteOptions& options = {});
  // GetOrSet whose fetcher also says how long its value stays valid: the value is cached for
  // the shorter of that ttl and the one `options` give (or default_ttl), as a fixed deadline
  // even when `options` ask for a sliding one. A ttl that is not positive: the value is
  // returned to the callers and not cached.
  Result<std::string> GetOrSetTimed(std::string_view key, const TimedFetcher& fetch,
                                    const WriteOptions& options = {});
  // Stale-while-revalidate. A value is fresh for `fresh_ttl` after it is written and kept, stale,
  // until `stale_ttl` after it is written. Fresh: returned. Stale: returned at once while one
  // background refresh per key runs `fetch`. Neither: fetched and waited for (single flight).
  // Fail-safe: while refreshes fail the stale value keeps serving until stale_ttl, with at most
  // one attempt per fail_safe_throttle. InvalidArgument unless 0 < fresh_ttl <= stale_ttl.
  Result<std::string> GetWithStale(std::string_view key, Fetcher fetch, Duration fresh_ttl,
                                   Duration stale_ttl);

  // ---- Snapshots (larder/snapshot.h, docs/snapshot-format.md) ----

  // Saves every entry that can still be served (value, deadline as wall-clock epoch ms, stale
  // window, sliding ttl) as a new snapshot in `dir`, created when missing. The cache keeps
  // serving: shards are read one at a time without locks, so writes made during the save may or
  // may not be in it. Returns the published manifest; with keep_last, older snapshots beyond it
  // are deleted afterwards. Errors: InvalidArgument naming `dir` when it holds something other
  // than snapshots, Unavailable when another process writes it, IOError; on error no new
  // snapshot is visible.
  Result<SnapshotInfo> SaveSnapshot(const std::string& dir, const SaveSnapshotOptions& options = {});
  // Restores a snapshot of `dir` (the newest unless options.id): entries that expired since the
  // save are skipped, the others keep their deadlines, stale windows and sliding ttls. Keys the
  // cache already holds keep their current value (it is newer than the snapshot). Every batch
  // is checked before anything is written, so on error nothing was loaded. Errors: NotFound
  // (no directory, no such snapshot), InvalidArgument (not a snapshot directory, a record
  // cache's snapshot, a different name, an entry too large for this cache's bounds),
  // Corruption naming the snapshot and batch, FailedPrecondition for a newer format.
  Result<LoadSnapshotResult> LoadSnapshot(const std::string& dir,
                                          const LoadSnapshotOptions& options = {});

  // On SIGINT or SIGTERM: calls `before_exit` (for example to save a final snapshot), stops this
  // cache's maintenance thread and background loads, then lets the signal take its default
  // action. The signal handler only wakes a watcher thread, which does the work. Calling again
  // replaces the hook; the handlers are installed once per process. Destroying the cache
  // unregisters it.
  void HandleProcessSignals(std::function<void(Cache&)> before_exit = {});

  // ---- Observation and upkeep ----

  // Subscribes `listener` to the events in `mask` (see events.h for delivery rules).
  [[nodiscard]] Subscription Subscribe(EventListener listener, EventMask mask = kAllEvents);
  CacheStats GetStats() const;
  // GetStats() as Prometheus text (CacheStats::ToPrometheus), labelled cache="<cache_name>"
  // when a name is given: what a /metrics endpoint serves.
  std::string ExportPrometheus(std::string_view cache_name = {}) const;
  // Zeroes hits, misses, removals, loads and their kin; entries and bytes are untouched.
  void ResetStats();
  // Stored entries, including expired ones not yet removed.
  size_t Size() const;
  // Runs one maintenance pass now: removes expired entries, applies recorded accesses to the
  // eviction policy, enforces bounds and reclaims freed memory. Deterministic with a ManualClock.
  void RunPendingMaintenance();

  const CacheOptions& options() const noexcept;

 private:
  explicit Cache(std::unique_ptr<internal::CacheCore> core) noexcept;
  std::unique_ptr<internal::CacheCore> core_;
};

}  // namespace larder
