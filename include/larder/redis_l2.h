// RedisL2: a Redis server as a second level behind a Cache, shared by every instance. A local
// miss asks Redis before the fetcher, so a value one instance loaded serves the others (and an
// instance that just started) without another trip to the source of truth.
//
//   GetOrSet(key, fetch, options):
//     local hit                  -> the value (no Redis call)
//     local miss, Redis hit      -> cached locally for the time Redis has left on it (at most
//                                   options.ttl), as a load: the backplane does not announce it
//     local miss, Redis miss     -> fetch (one call per key however many threads miss), then
//                                   written to both with the same ttl and tags
//   Set(key, value, options)     -> written to both with the same ttl and tags
//
// Coherence. Every other change of the cache made on this instance removes what Redis holds:
// Cache::Set (directly, not through the L2) deletes the key in Redis, Delete too,
// InvalidatePattern removes the matching keys in Redis (SCAN and UNLINK under the L2's
// namespace), InvalidateByTag the keys written to Redis with that tag (a Redis set per tag),
// Clear the whole namespace. Changes applied for other instances (RemoteScope) leave Redis alone:
// their origin did it. Used with a Backplane, name the L2 in BackplaneOptions::l2: the backplane
// then updates Redis before it tells the others, so an instance told to drop a key never finds
// the old value in Redis.
//
// Loads and removals racing. A value loaded from the fetcher may predate a change another
// instance made while it loaded (read the old row, the row changes, its key is removed from
// Redis, the old value is written back). So a local miss that Redis does not answer takes a
// lease on the key (after memcache's leases, Nishtala et al., NSDI 2013): a removal of the key,
// and any pattern, tag or clear removal in the namespace, cancels it, and the loaded value is
// written to Redis only under a lease still valid (one Lua script); otherwise it is used locally
// and counted as refused. One load per key holds the lease at a time; the others do not write.
// Locally, a change of the key during its load keeps the loaded value out of the cache
// (Cache::GetOrSet).
//
// Redis never makes a call fail: a Redis error is counted and the call goes on as without an L2
// (a read falls through to the fetcher, a write stays local). A removal that cannot reach Redis
// leaves it possibly holding an outdated value, so the L2 is then bypassed until its whole
// namespace has been emptied, tried again at each use (no silent staleness).
//
// Keys in Redis: key_prefix + name + ":k:" + key; tag sets: key_prefix + name + ":t:" + tag;
// leases: key_prefix + name + ":l:" + key; the removal generation: key_prefix + name + ":g".
// One server, not a Redis Cluster.
//
// Thread safety: every method may be called from any thread. Ownership: the cache must outlive
// the L2; the L2 owns its connections (RedisOptions::max_connections).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "larder/cache.h"
#include "larder/redis.h"
#include "larder/status.h"

namespace larder {

struct RedisL2Options {
  // The cache's name: instances with the same name share the level. Required.
  std::string name{};
  std::string key_prefix = "larder:l2:";
  // How long a load may take and still write its value to Redis (its lease). Positive.
  Duration lease = std::chrono::seconds(10);
};

struct RedisL2Stats {
  uint64_t hits = 0;       // local misses Redis answered
  uint64_t misses = 0;     // local misses Redis did not hold (the fetcher ran)
  uint64_t writes = 0;     // values written to Redis
  uint64_t removals = 0;   // removals sent to Redis (keys, patterns, tags, clears)
  uint64_t errors = 0;     // Redis calls that failed (the operation went on without Redis)
  uint64_t bypassed = 0;   // operations that skipped Redis while it might hold outdated values
  // Loaded values not written to Redis: the key changed while they loaded, or another load of
  // it held the lease (see the top of this file).
  uint64_t refused = 0;
  bool trusted = true;     // false while Redis might hold outdated values (see above)
};

class RedisL2 {
 public:
  // Connects to the server (Unavailable; FailedPrecondition for a wrong password) and watches
  // `cache`'s changes. InvalidArgument for an empty name.
  static Result<std::unique_ptr<RedisL2>> Connect(Cache& cache, const RedisOptions& redis,
                                                  RedisL2Options options);
  ~RedisL2();
  RedisL2(const RedisL2&) = delete;
  RedisL2& operator=(const RedisL2&) = delete;

  // See the top of this file. The fetcher's errors are returned (and nothing is cached); the
  // cache's own errors (InvalidArgument for a bad ttl or tags) too.
  Result<std::string> GetOrSet(std::string_view key, const Fetcher& fetch,
                               const WriteOptions& options = {});
  // Writes both levels. The cache's status (InvalidArgument: nothing written anywhere).
  Status Set(std::string_view key, std::string_view value, const WriteOptions& options = {});

  RedisL2Stats GetStats() const;

  struct Impl;

 private:
  explicit RedisL2(std::unique_ptr<Impl> impl);
  friend class Backplane;
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
