// Redis rate limiter: the local limiter's contract on a throwaway server, exact across processes.
// Windows move on a ManualClock whose time the scripts receive, so nothing sleeps; one test uses
// the server's clock with a window far longer than the test.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_server.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);

struct Limiter {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<RateLimiter> limiter;
};

Limiter NewLimiter(const testing::RedisServer& server, RateLimitMode mode,
                   std::string prefix = "larder:rl:") {
  Limiter l;
  Result<std::unique_ptr<RateLimiter>> made = NewRedisRateLimiter(
      mode, server.options(), {.key_prefix = std::move(prefix), .clock = l.clock});
  REQUIRE(made.ok());
  l.limiter = *std::move(made);
  return l;
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

TEST_CASE("RedisRateLimiter: a fixed window admits `limit` requests, then resets after it") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  Limiter l = NewLimiter(*server, RateLimitMode::kFixedWindow);
  RateLimiter& rl = *l.limiter;
  for (uint64_t i = 1; i <= 3; ++i) {
    Result<RateLimitResult> r = rl.CheckRateLimit("ip:1", 3, 10 * kSec);
    REQUIRE(r.ok());
    CHECK(r->allowed);
    CHECK(r->remaining == 3 - i);
    CHECK(r->reset_in == 10 * kSec);
  }
  l.clock->Advance(4 * kSec);
  Result<RateLimitResult> r = rl.CheckRateLimit("ip:1", 3, 10 * kSec);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
  CHECK(r->remaining == 0);
  CHECK(r->reset_in == 6 * kSec);
  // Keys are independent; a key's window starts at its own first request.
  r = rl.CheckRateLimit("ip:2", 3, 10 * kSec);
  CHECK(r->allowed);
  CHECK(r->reset_in == 10 * kSec);
  Result<RateLimitResult> info = rl.GetRateLimitInfo("ip:1", 3);
  REQUIRE(info.ok());
  CHECK_FALSE(info->allowed);
  CHECK(info->reset_in == 6 * kSec);
  l.clock->Advance(6 * kSec);
  info = rl.GetRateLimitInfo("ip:1", 3);
  CHECK(info->allowed);
  CHECK(info->remaining == 3);
  CHECK(info->reset_in == Duration::zero());
  r = rl.CheckRateLimit("ip:1", 3, 10 * kSec);
  CHECK(r->allowed);
  CHECK(r->remaining == 2);
  CHECK(rl.GetRateLimitInfo("never", 5)->remaining == 5);
}

TEST_CASE("RedisRateLimiter: a sliding window never admits more than `limit` in any window") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  Limiter l = NewLimiter(*server, RateLimitMode::kSlidingWindow);
  RateLimiter& rl = *l.limiter;
  // 3 per 10 s: requests at 0, 4, 8 pass; at 9 it is refused; at 10 the first one has left.
  CHECK(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  l.clock->Advance(4 * kSec);
  CHECK(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  l.clock->Advance(4 * kSec);
  CHECK(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  l.clock->Advance(1 * kSec);
  Result<RateLimitResult> r = rl.CheckRateLimit("k", 3, 10 * kSec);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
  CHECK(r->reset_in == 1 * kSec);
  l.clock->Advance(1 * kSec);
  CHECK(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  CHECK_FALSE(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  Result<RateLimitResult> info = rl.GetRateLimitInfo("k", 3);
  REQUIRE(info.ok());
  CHECK(info->remaining == 0);
  CHECK(info->reset_in == 4 * kSec);  // the request made at 4 s leaves at 14 s
  CHECK(rl.GetRateLimitInfo("never", 5)->remaining == 5);
  // Requests at one instant are all kept (members are unique per request).
  for (int i = 0; i < 5; ++i) CHECK(rl.CheckRateLimit("burst", 5, kSec)->allowed);
  CHECK_FALSE(rl.CheckRateLimit("burst", 5, kSec)->allowed);
}

TEST_CASE("RedisRateLimiter: answers exactly as the local limiter over random traffic") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  for (RateLimitMode mode : {RateLimitMode::kFixedWindow, RateLimitMode::kSlidingWindow}) {
    Limiter remote = NewLimiter(*server, mode, mode == RateLimitMode::kFixedWindow ? "f/" : "s/");
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

TEST_CASE("RedisRateLimiter: 2 processes x 2 threads never get more than the limit per window") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  for (const char* mode : {"fixed", "sliding"}) {
    CAPTURE(mode);
    // Each window is a fresh pair of processes whose ManualClocks read its start; 2 x 2 x 150
    // attempts compete for 100 requests.
    for (int window = 0; window < 3; ++window) {
      const std::string spec =
          std::string(mode) + ",shared,100,10," + std::to_string(window * 10) + ",150";
      CHECK(AdmittedByTwoProcesses(server->port(), spec) == 100);
    }
  }
  // The server's clock: one window of an hour, whatever the processes' clocks say.
  CHECK(AdmittedByTwoProcesses(server->port(), "sliding,server-clock,100,3600,server,150") == 100);
  CHECK(AdmittedByTwoProcesses(server->port(), "fixed,server-clock,100,3600,server,150") == 100);
}

TEST_CASE("RedisRateLimiter: threads of one process share the limit exactly") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  for (RateLimitMode mode : {RateLimitMode::kFixedWindow, RateLimitMode::kSlidingWindow}) {
    Limiter l = NewLimiter(*server, mode);
    for (int window = 0; window < 2; ++window) {
      std::atomic<uint64_t> allowed{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 60; ++i) {
            Result<RateLimitResult> r = l.limiter->CheckRateLimit("shared", 100, 10 * kSec);
            if (r.ok() && r->allowed) ++allowed;
          }
        });
      }
      for (std::thread& t : threads) t.join();
      CHECK(allowed.load() == 100);
      l.clock->Advance(10 * kSec);
    }
  }
}

TEST_CASE("RedisRateLimiter: without a clock the server's TIME keeps the window") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  Result<std::unique_ptr<RateLimiter>> made =
      NewRedisRateLimiter(RateLimitMode::kFixedWindow, server->options());
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

TEST_CASE("RedisRateLimiter: keys live under the prefix and expire with their window") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  Limiter fixed = NewLimiter(*server, RateLimitMode::kFixedWindow, "app:");
  Limiter sliding = NewLimiter(*server, RateLimitMode::kSlidingWindow, "app:");
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

TEST_CASE("RedisRateLimiter: zero limits and non-positive windows are refused") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  Limiter l = NewLimiter(*server, RateLimitMode::kFixedWindow);
  RateLimiter& rl = *l.limiter;
  Result<RateLimitResult> r = rl.CheckRateLimit("k", 0, kSec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("limit") != std::string_view::npos);
  r = rl.CheckRateLimit("k", 5, Duration::zero());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("window") != std::string_view::npos);
  CHECK(rl.CheckRateLimit("k", 5, -kSec).status().IsInvalidArgument());
  CHECK(rl.GetRateLimitInfo("k", 0).status().IsInvalidArgument());
  CHECK(rl.GetRateLimitInfo("k", 5)->remaining == 5);  // the refused calls counted nothing
}

}  // namespace larder
