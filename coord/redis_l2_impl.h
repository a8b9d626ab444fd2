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
#include "redis_pool.h"

namespace larder {

struct RedisL2::Impl {
  Impl(Cache& c, std::unique_ptr<coord::RedisPool> p, const RedisL2Options& o)
      : cache(c), pool(std::move(p)), ns(o.key_prefix + o.name + ":"), data_prefix(ns + "k:"),
        tag_prefix(ns + "t:") {}

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
  // True when Redis may be used: trusted, or emptied now after a failed removal.
  bool Usable();
  // SCAN MATCH `match` and UNLINK every key found.
  Status ScanUnlink(const std::string& match);
  // OK for a reply; counts an error otherwise.
  Status Check(Result<coord::RedisReplyPtr> reply);

  Cache& cache;
  std::unique_ptr<coord::RedisPool> pool;
  const std::string ns;           // key_prefix + name + ":"
  const std::string data_prefix;  // ns + "k:"
  const std::string tag_prefix;   // ns + "t:"

  std::atomic<bool> trusted{true};
  std::mutex restore_mu;  // one thread empties the namespace at a time
  std::atomic<bool> on_backplane{false};
  std::atomic<uint64_t> hits{0}, misses{0}, writes{0}, removals{0}, errors{0}, bypassed{0};

  std::unique_ptr<coord::BackplaneTarget> target;
  Subscription local;
};

}  // namespace larder
