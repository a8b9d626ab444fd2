// Backplane: keeps the caches of many instances (processes) coherent by broadcasting every
// invalidation one of them performs to the others through a PubSub (Redis for many processes).
//
// What travels, for a key-value Cache: a Set (the key: the others drop their copy, so the next
// read reloads it), a Delete, an InvalidatePattern (the pattern), an InvalidateByTag (the tag) and
// a Clear. The Invalidator's rule events travel as the patterns they remove. For a RecordCache: a
// record written by Upsert or by the change feed, or removed by the feed (its primary key), an
// Invalidate(field, value), and a Clear; the others drop the records concerned. Loads and syncs
// do not travel: they read the source of truth, they do not change it. Each message carries its
// publisher's id (random per Backplane) and a sequence number per publisher; an instance ignores
// its own messages.
//
// No silent staleness: a receiver that sees a gap in a publisher's sequence (a message lost, or a
// publish that failed while the bus was down), a message it cannot apply exactly, or whose bus
// reports a lost connection, resyncs: it clears the cache, or marks everything stale
// (MarkAllStale) so the next reads revalidate. While the bus stays disconnected, the optional
// max_staleness_while_disconnected bound resyncs again and again, so nothing is served longer
// than that on trust. Local operations never fail because of the bus: a failed publish is
// counted and the gap it leaves makes the others resync.
//
// Sending is asynchronous (one sender thread per Backplane, in sequence order, at most 100,000
// waiting; beyond that a message is dropped and counted, and the others resync). Attach it before
// the cache serves: changes made before it was attached are not sent.
//
// Thread safety: every method may be called from any thread. Ownership: the Backplane uses a
// cache and a PubSub it does not own; both must outlive it. Destroying it sends what is queued.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/coord.h"
#include "larder/record_cache.h"
#include "larder/record_cache_group.h"
#include "larder/redis.h"
#include "larder/status.h"

namespace larder {

class RedisL2;

enum class ResyncMode : uint8_t {
  kMarkStale = 0,  // MarkAllStale: stale-capable entries revalidate, the rest go (default)
  kClear = 1,      // Cache::Clear
};

// Why a resync ran.
enum class ResyncReason : uint8_t {
  kGap = 0,             // a publisher's sequence skipped numbers
  kReconnected = 1,     // the bus came back after losing its connection
  kDisconnected = 2,    // the bus has been down for max_staleness_while_disconnected (again)
  kUnapplicable = 3,    // a message this instance could not apply exactly
};

struct BackplaneOptions {
  // The cache's name: instances with the same name share invalidations. Required for a Cache;
  // a RecordCache's defaults to its own name (the source's).
  std::string name{};
  std::string channel_prefix = "larder:bp:";  // channel = prefix + name
  ResyncMode resync = ResyncMode::kMarkStale;
  // Called after each resync, on the thread that noticed the reason (the bus's).
  std::function<void(ResyncReason)> on_resync{};
  // While the bus is disconnected, invalidations made elsewhere cannot arrive: after this long
  // without a connection the cache resyncs, and again after each further period until the bus
  // is back (which resyncs once more). Zero: only when the connection returns.
  Duration max_staleness_while_disconnected = Duration::zero();
  // The time for max_staleness_while_disconnected; default SystemClock().
  std::shared_ptr<Clock> clock{};
  // The cache's Redis L2 (larder/redis_l2.h), if it has one: each local invalidation is applied
  // to it before it is sent, so an instance told to drop a key cannot find the old value there.
  // A Cache only; it must outlive the backplane.
  RedisL2* l2 = nullptr;
};

struct BackplaneStats {
  uint64_t published = 0;         // invalidations sent
  uint64_t publish_failures = 0;  // sends the bus refused (the others will see a gap)
  uint64_t received = 0;          // messages from other instances
  uint64_t applied = 0;           // of those, applied to the cache
  uint64_t own_ignored = 0;       // this instance's own messages, coming back
  uint64_t malformed = 0;         // messages that were not backplane messages (ignored)
  uint64_t gaps = 0;              // sequence gaps seen
  uint64_t resyncs = 0;
  uint64_t disconnects = 0;       // connection losses the bus reported
  uint64_t unapplicable = 0;      // messages that could not be applied exactly (resynced)
  bool connected = true;          // the bus's last report
};

class Backplane {
 public:
  // Connects `cache` to the other instances through a Redis server (NewRedisPubSub), whose
  // connection losses and returns trigger resyncs. InvalidArgument for an empty name; the
  // server's errors (Unavailable; FailedPrecondition for a wrong password).
  static Result<std::unique_ptr<Backplane>> Connect(Cache& cache, const RedisOptions& redis,
                                                    BackplaneOptions options);
  // Connects `cache` to the other instances through `bus`: the in-process PubSub connects caches
  // of one process, a Redis one (NewRedisPubSub) processes. Connection losses, if the bus has
  // any, are reported by calling OnBusConnectionChange (wire the bus's callback to it).
  // InvalidArgument for an empty name; the bus's errors.
  static Result<std::unique_ptr<Backplane>> Attach(Cache& cache, PubSub& bus,
                                                   BackplaneOptions options);
  // The same for a RecordCache.
  static Result<std::unique_ptr<Backplane>> Connect(RecordCache& cache, const RedisOptions& redis,
                                                    BackplaneOptions options);
  static Result<std::unique_ptr<Backplane>> Attach(RecordCache& cache, PubSub& bus,
                                                   BackplaneOptions options);
  ~Backplane();
  Backplane(const Backplane&) = delete;
  Backplane& operator=(const Backplane&) = delete;

  // What the bus reports: false when its connection is lost, true when it is back (and
  // subscribed again); the first true after a false resyncs.
  void OnBusConnectionChange(bool connected);

  BackplaneStats GetStats() const;
  // This instance's publisher id.
  const std::string& id() const noexcept;

  // Applies max_staleness_while_disconnected now (a background thread also does, about every
  // quarter of it). Deterministic with a ManualClock.
  void RunPendingMaintenance();

  // Blocks until every invalidation queued so far has been handed to the bus (sending is
  // asynchronous: a local write never waits for the bus).
  void WaitUntilSent();

  // For fault-injection tests: the next `n` messages are not sent (their sequence numbers are
  // used up), as if the bus had lost them.
  void DropNextForTesting(uint64_t n);

  struct Impl;
  struct Target;

 private:
  explicit Backplane(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<Backplane>> ConnectTarget(std::unique_ptr<Target> target,
                                                          const RedisOptions& redis,
                                                          BackplaneOptions options);
  static Result<std::unique_ptr<Backplane>> Start(std::unique_ptr<Target> target, PubSub& bus,
                                                  BackplaneOptions options,
                                                  std::atomic<Impl*>* relay);
  friend class GroupBackplane;
  std::unique_ptr<Impl> impl_;
};

struct GroupBackplaneOptions {
  std::string channel_prefix = "larder:bp:";  // channel = prefix + the cache's name in the group
  ResyncMode resync = ResyncMode::kMarkStale;
  // Called after each resync of one of the caches, with its name in the group.
  std::function<void(std::string_view cache, ResyncReason)> on_resync{};
  Duration max_staleness_while_disconnected = Duration::zero();
  std::shared_ptr<Clock> clock{};
};

// Keeps every cache of a RecordCacheGroup coherent with the same caches of other instances over
// one Redis connection pair (one connection for publishing, one subscriber), however many caches
// the group has. Each cache travels on its own channel, named after its name in the group.
// Connect it after the group's caches are added: a cache added later is not covered.
//
// Thread safety: as Backplane. Ownership: the group must outlive it.
class GroupBackplane {
 public:
  // Unavailable or FailedPrecondition from the server; InvalidArgument for an empty group.
  static Result<std::unique_ptr<GroupBackplane>> Connect(RecordCacheGroup& group,
                                                         const RedisOptions& redis,
                                                         GroupBackplaneOptions options = {});
  ~GroupBackplane();
  GroupBackplane(const GroupBackplane&) = delete;
  GroupBackplane& operator=(const GroupBackplane&) = delete;

  // The backplane of the cache named `name` in the group, or null.
  Backplane* Get(std::string_view name) const;
  // Every cache's stats, in the group's order.
  std::vector<std::pair<std::string, BackplaneStats>> GetAllStats() const;
  void WaitUntilSent();
  void RunPendingMaintenance();

  struct Impl;

 private:
  explicit GroupBackplane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
