// RedisL2's state, shared with the Backplane, which removes from Redis what this instance
// invalidates before telling the others.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "backplane_message.h"
#include "backplane_target.h"
#include "larder/redis_l2.h"
#include "redis_namespace.h"
#include "redis_pool.h"

namespace larder {

struct RedisL2::Impl {
  Impl(Cache& c, std::unique_ptr<coord::RedisPool> p, const RedisL2Options& o)
      : cache(c),
        redis(std::move(p), o.key_prefix + o.name + ":"),
        data_prefix(redis.ns() + "k:"),
        tag_prefix(redis.ns() + "t:"),
        lease_prefix(redis.ns() + "l:"),
        generation(redis.ns() + "g"),
        lease_ms(std::to_string(
            std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(o.lease)
                                     .count()))) {}

  struct Found {
    std::string value;
    std::optional<Duration> left;  // unset: no expiry in Redis
  };

  // What a local miss found in Redis: the value, or a lease for writing the loaded one.
  struct Lookup {
    std::optional<Found> found;
    std::string lease;  // non-empty: this load may write its value (Write's `lease`)
    bool leased_elsewhere = false;  // another load holds the key's lease
  };

  std::string Key(std::string_view key) const { return data_prefix + std::string(key); }
  std::string Lease(std::string_view key) const { return lease_prefix + std::string(key); }
  std::string TagSet(std::string_view tag) const { return tag_prefix + std::string(tag); }

  // Removes from Redis what a local change made outdated (the kinds a backplane sends).
  void Invalidate(coord::BackplaneKind kind, std::string_view payload);
  // The value Redis holds for `key` and its time left, or on a miss the key's lease when no
  // other load holds it; neither on an error or while Redis is not trusted.
  Lookup Read(std::string_view key);
  // Writes the value with its ttl and tags. With a `lease` (from Read), only while that lease
  // is still valid (counted as refused otherwise); without, always, cancelling any lease.
  void Write(std::string_view key, std::string_view value, const WriteOptions& options,
             std::string_view lease = {});


  Cache& cache;
  coord::RedisNamespace redis;    // key_prefix + name + ":"
  const std::string data_prefix;  // ns + "k:"
  const std::string tag_prefix;   // ns + "t:"
  const std::string lease_prefix;  // ns + "l:"
  const std::string generation;   // ns + "g": bumped by pattern and tag removals
  const std::string lease_ms;
  std::atomic<bool> on_backplane{false};

  std::unique_ptr<coord::BackplaneTarget> target;
  Subscription local;
};

}  // namespace larder
