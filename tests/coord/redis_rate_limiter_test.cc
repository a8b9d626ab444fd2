// Redis rate limiter: the RateLimiter contract (rate_limiter_contract.h) on a throwaway server,
// the same answers as the local limiter, exact across processes, the server's clock and the key
// layout. Windows move on a ManualClock whose time the scripts receive, so nothing sleeps; one test
// uses the server's clock with a window far longer than the test.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>

#include "child_process.h"
#include "coord_testing.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "rate_limiter_contract.h"
#include "redis_fixture.h"

namespace larder {
namespace {

using testing::kSec;

contract::LimiterUnderTest NewLimiter(const testing::RedisFixture& redis, RateLimitMode mode,
                                      std::string prefix = "larder:rl:") {
  contract::LimiterUnderTest l;
  l.limiter = testing::Opened(NewRedisRateLimiter(
      mode, redis.options(), {.key_prefix = std::move(prefix), .clock = l.clock}));
  return l;
}

// Runs a contract check with limiters on a throwaway server (skipped without redis-server).
void RunOverRedis(const std::function<void(const contract::LimiterFactory&)>& check) {
  testing::RedisFixture redis;
  if (redis) check([&redis](RateLimitMode mode) { return NewLimiter(redis, mode); });
}

// Runs two process_child redis-rate-limit children at once; returns the requests they admitted.
uint64_t AdmittedByTwoProcesses(uint16_t port, const std::string& spec) {
  testing::ChildProcess a("redis-rate-limit", std::to_string(port), spec);
  testing::ChildProcess b("redis-rate-limit", std::to_string(port), spec);
  uint64_t total = 0;
  for (testing::ChildProcess* child : {&a, &b}) {
    unsigned long long admitted = 0;
    CHECK(std::fscanf(child->out, "allowed %llu", &admitted) == 1);
    const int status = child->Wait();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    total += admitted;
  }
  return total;
}

}  // namespace

TEST_CASE("RateLimiter (Redis): a fixed window admits `limit` requests, then resets after it") {
  RunOverRedis(contract::FixedWindowAdmitsLimitThenResets);
}

TEST_CASE("RateLimiter (Redis): a sliding window never admits more than `limit` in any window") {
  RunOverRedis(contract::SlidingWindowNeverExceedsLimit);
}

TEST_CASE("RateLimiter (Redis): answers exactly as the local limiter over random traffic") {
  testing::RedisFixture redis;
  if (!redis) return;
  for (RateLimitMode mode : {RateLimitMode::kFixedWindow, RateLimitMode::kSlidingWindow}) {
    contract::LimiterUnderTest remote =
        NewLimiter(redis, mode, mode == RateLimitMode::kFixedWindow ? "f/" : "s/");
    auto local_clock = std::make_shared<ManualClock>();
    std::unique_ptr<RateLimiter> local = NewLocalRateLimiter(mode, local_clock);
    std::mt19937 rng(42);
    for (int op = 0; op < 1500; ++op) {
      const std::string key = "k" + std::to_string(rng() % 4);
      const uint64_t limit = 1 + rng() % 5;
      const Duration window = (5 + static_cast<int>(rng() % 6)) * kSec;
      const bool look = rng() % 4 == 0;
      Result<RateLimitResult> a =
          look ? local->GetRateLimitInfo(key, limit) : local->CheckRateLimit(key, limit, window);
      Result<RateLimitResult> b = look ? remote.limiter->GetRateLimitInfo(key, limit)
                                       : remote.limiter->CheckRateLimit(key, limit, window);
      CAPTURE(op);
      REQUIRE(b.ok());
      CHECK(a->allowed == b->allowed);
      CHECK(a->remaining == b->remaining);
      CHECK(a->reset_in == b->reset_in);
      const Duration step = std::chrono::milliseconds(rng() % 1500);
      local_clock->Advance(step);
      remote.clock->Advance(step);
    }
  }
}

TEST_CASE("RateLimiter (Redis): 2 processes x 2 threads never get more than the limit per window") {
  testing::RedisFixture redis;
  if (!redis) return;
  for (const char* mode : {"fixed", "sliding"}) {
    CAPTURE(mode);
    // Each window is a fresh pair of processes whose ManualClocks read its start; 2 x 2 x 150
    // attempts compete for 100 requests.
    for (int window = 0; window < 3; ++window) {
      const std::string spec =
          std::string(mode) + ",shared,100,10," + std::to_string(window * 10) + ",150";
      CHECK(AdmittedByTwoProcesses(redis.port(), spec) == 100);
    }
  }
  // The server's clock: one window of an hour, whatever the processes' clocks say.
  CHECK(AdmittedByTwoProcesses(redis.port(), "sliding,server-clock,100,3600,server,150") == 100);
  CHECK(AdmittedByTwoProcesses(redis.port(), "fixed,server-clock,100,3600,server,150") == 100);
}

TEST_CASE("RateLimiter (Redis): threads of one process share the limit exactly") {
  RunOverRedis([](const contract::LimiterFactory& make) {
    contract::ConcurrentCallersGetExactlyTheLimit(make, /*windows=*/2, /*tries=*/60);
  });
}

TEST_CASE("RateLimiter (Redis): without a clock the server's TIME keeps the window") {
  testing::RedisFixture redis;
  if (!redis) return;
  Result<std::unique_ptr<RateLimiter>> made =
      NewRedisRateLimiter(RateLimitMode::kFixedWindow, redis.options());
  REQUIRE(made.ok());
  RateLimiter& rl = **made;
  const Duration hour = std::chrono::hours(1);
  CHECK(rl.CheckRateLimit("k", 2, hour)->allowed);
  CHECK(rl.CheckRateLimit("k", 2, hour)->allowed);
  Result<RateLimitResult> r = rl.CheckRateLimit("k", 2, hour);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
  CHECK(r->reset_in <= hour);
  CHECK(r->reset_in > hour - std::chrono::minutes(1));
  CHECK(rl.GetRateLimitInfo("k", 2)->remaining == 0);
}

TEST_CASE("RateLimiter (Redis): keys live under the prefix and expire with their window") {
  testing::RedisFixture redis;
  if (!redis) return;
  testing::RawRedis& raw = redis.raw();
  contract::LimiterUnderTest fixed = NewLimiter(redis, RateLimitMode::kFixedWindow, "app:");
  contract::LimiterUnderTest sliding = NewLimiter(redis, RateLimitMode::kSlidingWindow, "app:");
  REQUIRE(fixed.limiter->CheckRateLimit("user:1", 5, 30 * kSec).ok());
  REQUIRE(sliding.limiter->CheckRateLimit("user:1", 5, 30 * kSec).ok());
  CHECK(raw.Run({"TYPE", "app:f:user:1"}) == "hash");
  CHECK(raw.Run({"TYPE", "app:s:user:1"}) == "zset");
  CHECK(raw.Run({"GET", "app:w:user:1"}) == "30000000");  // microseconds
  for (std::string_view key : {"app:f:user:1", "app:s:user:1", "app:w:user:1"}) {
    const long long ttl = raw.Int({"PTTL", key});
    CHECK(ttl > 0);
    CHECK(ttl <= 30'000);
  }
  // A key of another type under the prefix is reported, not misread.
  CHECK(raw.Run({"SET", "app:f:odd", "text"}) == "OK");
  Result<RateLimitResult> r = fixed.limiter->CheckRateLimit("odd", 5, kSec);
  CHECK(r.status().IsInternal());
  CHECK(r.status().message().find("WRONGTYPE") != std::string_view::npos);
}

TEST_CASE("RateLimiter (Redis): zero limits and non-positive windows are refused") {
  RunOverRedis(contract::RefusesZeroLimitsAndBadWindows);
}

}  // namespace larder
