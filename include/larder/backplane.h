// Backplane: keeps the caches of many instances (processes) coherent by broadcasting every
// invalidation one of them performs to the others through a PubSub (Redis for many processes).
//
// What travels: a Set (the key: the others drop their copy, so the next read reloads it), a
// Delete, an InvalidatePattern (the pattern), an InvalidateByTag (the tag) and a Clear. Loads
// (GetOrSet, GetWithStale) do not: they read the source of truth, they do not change it. The
// Invalidator's rule events travel as the patterns they remove. Each message carries its
// publisher's id (random per Backplane) and a sequence number per publisher; an instance ignores
// its own messages.
//
// No silent staleness: a receiver that sees a gap in a publisher's sequence (a message lost, or a
// publish that failed while the bus was down), or whose bus reports a lost connection, resyncs:
// it clears the cache, or marks everything stale (Cache::MarkAllStale) so the next reads
// revalidate. Local operations never fail because of the bus: a failed publish is counted and
// the gap it leaves makes the others resync.
//
// Sending is asynchronous (one sender thread per Backplane, in sequence order, at most 100,000
// waiting; beyond that a message is dropped and counted, and the others resync). Attach it before
// the cache serves: changes made before it was attached are not sent.
//
// Thread safety: every method may be called from any thread. Ownership: the Backplane uses a
// Cache and a PubSub it does not own; both must outlive it. Destroying it sends what is queued.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "larder/cache.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "larder/status.h"

namespace larder {

enum class ResyncMode : uint8_t {
  kMarkStale = 0,  // Cache::MarkAllStale: stale-capable entries revalidate, the rest go (default)
  kClear = 1,      // Cache::Clear
};

// Why a resync ran.
enum class ResyncReason : uint8_t {
  kGap = 0,             // a publisher's sequence skipped numbers
  kReconnected = 1,     // the bus came back after losing its connection
};

struct BackplaneOptions {
  // The cache's name: instances with the same name share invalidations. Required.
  std::string name{};
  std::string channel_prefix = "larder:bp:";  // channel = prefix + name
  ResyncMode resync = ResyncMode::kMarkStale;
  // Called after each resync, on the thread that noticed the reason (the bus's).
  std::function<void(ResyncReason)> on_resync{};
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
  ~Backplane();
  Backplane(const Backplane&) = delete;
  Backplane& operator=(const Backplane&) = delete;

  // What the bus reports: false when its connection is lost, true when it is back (and
  // subscribed again); the first true after a false resyncs.
  void OnBusConnectionChange(bool connected);

  BackplaneStats GetStats() const;
  // This instance's publisher id.
  const std::string& id() const noexcept;

  // Blocks until every invalidation queued so far has been handed to the bus (sending is
  // asynchronous: a local write never waits for the bus).
  void WaitUntilSent();

  // For fault-injection tests: the next `n` messages are not sent (their sequence numbers are
  // used up), as if the bus had lost them.
  void DropNextForTesting(uint64_t n);

  struct Impl;

 private:
  explicit Backplane(std::unique_ptr<Impl> impl);
  static Result<std::unique_ptr<Backplane>> Start(Cache& cache, PubSub& bus,
                                                  BackplaneOptions options,
                                                  std::atomic<Impl*>* relay);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
