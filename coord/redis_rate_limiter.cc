// The Redis rate limiter: each check or look is one atomic Lua script (redis_rate_limit_scripts.h).
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_connection.h"
#include "rate_limit_args.h"
#include "redis_pool.h"
#include "redis_rate_limit_scripts.h"

namespace larder {
namespace {

using coord::RedisConnection;
using coord::RedisReplyPtr;
using coord::RedisScript;

// Lua numbers are doubles: integers beyond 2^53 would lose their last digits. Windows stay well
// below (epoch microseconds plus a window must fit too); limits above 2^53 are unreachable.
constexpr int64_t kMaxWindowMicros = int64_t{1} << 50;
constexpr uint64_t kMaxScriptLimit = uint64_t{1} << 53;

int64_t WindowMicros(Duration window) {
  const int64_t ns = window.count();
  const int64_t micros = ns / 1000 + (ns % 1000 != 0 ? 1 : 0);  // round up: at least 1 us
  return std::min(micros, kMaxWindowMicros);
}

// The script's reply: exactly N integers.
template <size_t N>
Result<std::array<int64_t, N>> Integers(const RedisConnection& c, const RedisScript& script,
                                        const redisReply& reply) {
  std::array<int64_t, N> out{};
  bool good = reply.type == REDIS_REPLY_ARRAY && reply.elements == N;
  for (size_t i = 0; good && i < N; ++i) {
    good = reply.element[i]->type == REDIS_REPLY_INTEGER;
    if (good) out[i] = reply.element[i]->integer;
  }
  if (good) return out;
  return Status::Internal(
      fmt::format("redis {}: {}: unexpected reply (type {})", c.server(), script.name, reply.type));
}

class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(RateLimitMode mode, std::unique_ptr<coord::RedisPool> pool,
                   RedisRateLimiterOptions options)
      : mode_(mode), pool_(std::move(pool)), options_(std::move(options)) {}

  Result<RateLimitResult> CheckRateLimit(std::string_view key, uint64_t limit,
                                         Duration window) override {
    if (Status s = coord::CheckLimitAndWindow(limit, window); !s.ok()) return s;
    const std::vector<std::string> names = KeysOf(key);
    const std::vector<std::string_view> keys(names.begin(), names.end());
    const std::string limit_arg = std::to_string(std::min(limit, kMaxScriptLimit));
    const std::string window_arg = std::to_string(WindowMicros(window));
    const std::string now = Now();
    const std::string_view args[] = {limit_arg, window_arg, now};
    const RedisScript& script = fixed() ? coord::kFixedWindowCheck : coord::kSlidingWindowCheck;
    return pool_->With([&](RedisConnection& c) -> Result<RateLimitResult> {
      Result<RedisReplyPtr> reply = c.Eval(script, keys, args);
      if (!reply.ok()) return std::move(reply).status();
      Result<std::array<int64_t, 3>> v = Integers<3>(c, script, **reply);
      if (!v.ok()) return std::move(v).status();
      return Answer((*v)[0] == 1, (*v)[1], (*v)[2], limit);
    });
  }

  Result<RateLimitResult> GetRateLimitInfo(std::string_view key, uint64_t limit) override {
    if (Status s = coord::CheckLimit(limit); !s.ok()) return s;
    const std::vector<std::string> names = KeysOf(key);
    const std::vector<std::string_view> keys(names.begin(), names.end());
    const std::string now = Now();
    const std::string_view args[] = {now};
    const RedisScript& script = fixed() ? coord::kFixedWindowInfo : coord::kSlidingWindowInfo;
    return pool_->With([&](RedisConnection& c) -> Result<RateLimitResult> {
      Result<RedisReplyPtr> reply = c.Eval(script, keys, args);
      if (!reply.ok()) return std::move(reply).status();
      Result<std::array<int64_t, 2>> v = Integers<2>(c, script, **reply);
      if (!v.ok()) return std::move(v).status();
      RateLimitResult r = Answer(false, (*v)[0], (*v)[1], limit);
      r.allowed = r.remaining > 0;
      return r;
    });
  }

 private:
  bool fixed() const { return mode_ == RateLimitMode::kFixedWindow; }

  // The Redis keys of `key`: a hash for a fixed window; a sorted set and its window for a
  // sliding one.
  std::vector<std::string> KeysOf(std::string_view key) const {
    if (fixed()) return {fmt::format("{}f:{}", options_.key_prefix, key)};
    return {fmt::format("{}s:{}", options_.key_prefix, key),
            fmt::format("{}w:{}", options_.key_prefix, key)};
  }

  // The time argument: empty for the server's clock.
  std::string Now() const {
    if (options_.clock == nullptr) return std::string();
    return std::to_string(options_.clock->NowNanos() / 1000);
  }

  static RateLimitResult Answer(bool allowed, int64_t used, int64_t reset_micros, uint64_t limit) {
    const uint64_t counted = used > 0 ? static_cast<uint64_t>(used) : 0;
    RateLimitResult r;
    r.allowed = allowed;
    r.remaining = counted < limit ? limit - counted : 0;
    // Never negative, even if a clock went back between processes.
    r.reset_in = counted == 0 ? Duration::zero()
                              : std::chrono::microseconds(std::max<int64_t>(0, reset_micros));
    return r;
  }

  const RateLimitMode mode_;
  const std::unique_ptr<coord::RedisPool> pool_;
  const RedisRateLimiterOptions options_;
};

}  // namespace

Result<std::unique_ptr<RateLimiter>> NewRedisRateLimiter(RateLimitMode mode,
                                                         const RedisOptions& redis,
                                                         const RedisRateLimiterOptions& options) {
  Result<std::unique_ptr<coord::RedisPool>> pool = coord::RedisPool::Open(redis);
  if (!pool.ok()) return std::move(pool).status();
  return std::unique_ptr<RateLimiter>(
      std::make_unique<RedisRateLimiter>(mode, *std::move(pool), options));
}

}  // namespace larder
