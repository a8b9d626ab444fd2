// The RateLimiter contract (larder/coord.h), written once and run against the in-process limiter
// (rate_limiter_test.cc) and the Redis one (redis_rate_limiter_test.cc). Both take their time
// from a ManualClock, so windows pass without sleeping.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <thread>
#include <vector>

#include "coord_testing.h"
#include "larder/clock.h"
#include "larder/coord.h"

namespace larder::contract {

// A limiter under test and the clock it reads.
struct LimiterUnderTest {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<RateLimiter> limiter;
};

// Makes a fresh limiter of the implementation, counting in `mode`.
using LimiterFactory = std::function<LimiterUnderTest(RateLimitMode mode)>;

// A fixed window admits `limit` requests and resets after the window, which opens at each key's
// first request.
inline void FixedWindowAdmitsLimitThenResets(const LimiterFactory& make) {
  using testing::kSec;
  LimiterUnderTest l = make(RateLimitMode::kFixedWindow);
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

// A sliding window never admits more than `limit` in any interval of the window's length.
inline void SlidingWindowNeverExceedsLimit(const LimiterFactory& make) {
  using testing::kSec;
  LimiterUnderTest l = make(RateLimitMode::kSlidingWindow);
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
  // A fixed window would reset here and allow a burst of 3 more; the sliding one allows 1.
  l.clock->Advance(1 * kSec);
  CHECK(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  CHECK_FALSE(rl.CheckRateLimit("k", 3, 10 * kSec)->allowed);
  Result<RateLimitResult> info = rl.GetRateLimitInfo("k", 3);
  REQUIRE(info.ok());
  CHECK(info->remaining == 0);
  CHECK(info->reset_in == 4 * kSec);  // the request made at 4 s leaves at 14 s
  CHECK(rl.GetRateLimitInfo("never", 5)->remaining == 5);
  // Requests at one instant are all kept (over Redis, each is its own sorted-set member).
  for (int i = 0; i < 5; ++i) CHECK(rl.CheckRateLimit("burst", 5, kSec)->allowed);
  CHECK_FALSE(rl.CheckRateLimit("burst", 5, kSec)->allowed);
}

// In both modes, 4 threads making `tries` checks each of one key get exactly the limit (100) in
// each of `windows` windows.
inline void ConcurrentCallersGetExactlyTheLimit(const LimiterFactory& make, int windows,
                                                int tries) {
  using testing::kSec;
  for (RateLimitMode mode : {RateLimitMode::kFixedWindow, RateLimitMode::kSlidingWindow}) {
    LimiterUnderTest l = make(mode);
    for (int window = 0; window < windows; ++window) {
      std::atomic<uint64_t> allowed{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < tries; ++i) {
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

// A zero limit and a non-positive window are InvalidArgument, naming which, and count nothing.
inline void RefusesZeroLimitsAndBadWindows(const LimiterFactory& make) {
  using testing::kSec;
  LimiterUnderTest l = make(RateLimitMode::kFixedWindow);
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

}  // namespace larder::contract
