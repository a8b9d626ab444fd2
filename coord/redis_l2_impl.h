// RedisL2's state, shared with the Backplane, which removes from Redis what this instance
// invalidates before telling the others.
#pragma once

#include <atomic>
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
      : cache(c), redis(std::move(p), o.key_prefix + o.name + ":"), data_prefix(redis.ns() + "k:"),
        tag_prefix(redis.ns() + "t:") {}

  struct Found {
    std::string value;
    std::optional<Duration> left;  // unset: no expiry in Redis
  };

  std::string Key(std::string_view key) const { return data_prefix + std::string(key); }
  std::string TagSet(std::string_view tag) const { return tag_prefix + std::string(tag); }

  // Removes from Redis what a local change made outdated (the kinds a backplane sends).
  void Invalidate(coord::BackplaneKind kind, std::string_view payload);
  // The value Redis holds for `key` and its time left; nullopt on a miss, an error or while
  // Redis is not trusted.
  std::optional<Found> Read(std::string_view key);
  void Write(std::string_view key, std::string_view value, const WriteOptions& options);

  Cache& cache;
  coord::RedisNamespace redis;    // key_prefix + name + ":"
  const std::string data_prefix;  // ns + "k:"
  const std::string tag_prefix;   // ns + "t:"
  std::atomic<bool> on_backplane{false};

  std::unique_ptr<coord::BackplaneTarget> target;
  Subscription local;
};

}  // namespace larder
