// The Redis lock service: SET NX PX takes a lock; token-checked Lua scripts release and extend.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "larder/coord.h"
#include "larder/redis.h"
#include "random_token.h"
#include "redis_connection.h"
#include "redis_pool.h"

namespace larder {
namespace {

using coord::RedisConnection;
using coord::RedisReplyPtr;
using coord::RedisScript;

// Deletes the lock only while it holds the caller's token: a holder whose lock expired and was
// taken by another must not release the new holder's. KEYS[1]: the lock; ARGV[1]: the token.
// Returns 1 when released, else 0.
constexpr RedisScript kRelease{"lock release", R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
)lua"};

// Moves the expiry to now + ttl only while the lock holds the caller's token. KEYS[1]: the lock;
// ARGV: the token, the ttl in milliseconds. Returns 1 when extended, else 0.
constexpr RedisScript kExtend{"lock extend", R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
)lua"};

Status CheckTtl(Duration ttl) {
  if (ttl.count() > 0) return Status::OK();
  return Status::InvalidArgument(fmt::format("ttl: must be positive, got {} ns", ttl.count()));
}

// Redis keeps expiry in milliseconds: round up, so a lock never expires before its ttl.
std::string TtlMillis(Duration ttl) {
  const int64_t ns = ttl.count();
  return std::to_string(ns / 1'000'000 + (ns % 1'000'000 != 0 ? 1 : 0));
}

Result<bool> OneOrZero(const RedisConnection& c, std::string_view what,
                       Result<RedisReplyPtr> reply) {
  if (!reply.ok()) return std::move(reply).status();
  if ((*reply)->type == REDIS_REPLY_INTEGER) return (*reply)->integer == 1;
  return Status::Internal(
      fmt::format("redis {}: {}: unexpected reply (type {})", c.server(), what, (*reply)->type));
}

class RedisLockService final : public LockService {
 public:
  RedisLockService(std::unique_ptr<coord::RedisPool> pool, RedisLockOptions options)
      : pool_(std::move(pool)), options_(std::move(options)) {}

  Result<std::optional<std::string>> AcquireLock(std::string_view key, Duration ttl) override {
    Status s = CheckTtl(ttl);
    if (!s.ok()) return s;
    Result<std::string> token = coord::NewRandomToken();
    if (!token.ok()) return token.status();
    const std::string name = Name(key);
    const std::string millis = TtlMillis(ttl);
    return pool_->With([&](RedisConnection& c) -> Result<std::optional<std::string>> {
      Result<RedisReplyPtr> reply = c.Command({"SET", name, *token, "NX", "PX", millis});
      if (!reply.ok()) return std::move(reply).status();
      if ((*reply)->type == REDIS_REPLY_NIL) return std::optional<std::string>();  // held
      if ((*reply)->type == REDIS_REPLY_STATUS) return std::optional<std::string>(*token);
      return Status::Internal(fmt::format("redis {}: lock acquire: unexpected reply (type {})",
                                          c.server(), (*reply)->type));
    });
  }

  Result<bool> ReleaseLock(std::string_view key, std::string_view token) override {
    const std::string name = Name(key);
    const std::string_view keys[] = {name};
    const std::string_view args[] = {token};
    return pool_->With([&](RedisConnection& c) {
      return OneOrZero(c, kRelease.name, c.Eval(kRelease, keys, args));
    });
  }

  Result<bool> ExtendLock(std::string_view key, std::string_view token, Duration ttl) override {
    Status s = CheckTtl(ttl);
    if (!s.ok()) return s;
    const std::string name = Name(key);
    const std::string millis = TtlMillis(ttl);
    const std::string_view keys[] = {name};
    const std::string_view args[] = {token, millis};
    return pool_->With([&](RedisConnection& c) {
      return OneOrZero(c, kExtend.name, c.Eval(kExtend, keys, args));
    });
  }

 private:
  std::string Name(std::string_view key) const { return options_.key_prefix + std::string(key); }

  const std::unique_ptr<coord::RedisPool> pool_;
  const RedisLockOptions options_;
};

}  // namespace

Result<std::unique_ptr<LockService>> NewRedisLockService(const RedisOptions& redis,
                                                         const RedisLockOptions& options) {
  Result<std::unique_ptr<coord::RedisPool>> pool = coord::RedisPool::Open(redis);
  if (!pool.ok()) return std::move(pool).status();
  return std::unique_ptr<LockService>(
      std::make_unique<RedisLockService>(*std::move(pool), options));
}

}  // namespace larder
