// Local rate limiter: fixed and sliding windows on the manual clock, exact under threads, errors.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "larder/coord.h"

namespace larder {
namespace {
constexpr Duration kSec = std::chrono::seconds(1);
}  // namespace

TEST_CASE("RateLimiter: a fixed window admits `limit` requests, then resets after the window") {
  auto clock = std::make_shared<ManualClock>();
  auto rl = NewLocalRateLimiter(RateLimitMode::kFixedWindow, clock);
  for (uint64_t i = 1; i <= 3; ++i) {
    Result<RateLimitResult> r = rl->CheckRateLimit("ip:1", 3, 10 * kSec);
    REQUIRE(r.ok());
    CHECK(r->allowed);
    CHECK(r->remaining == 3 - i);
    CHECK(r->reset_in == 10 * kSec);
  }
  clock->Advance(4 * kSec);
  Result<RateLimitResult> r = rl->CheckRateLimit("ip:1", 3, 10 * kSec);
  CHECK_FALSE(r->allowed);
  CHECK(r->remaining == 0);
  CHECK(r->reset_in == 6 * kSec);
  CHECK(rl->CheckRateLimit("ip:2", 3, 10 * kSec)->allowed);  // keys are independent
  Result<RateLimitResult> info = rl->GetRateLimitInfo("ip:1", 3);
  CHECK_FALSE(info->allowed);
  CHECK(info->reset_in == 6 * kSec);
  clock->Advance(6 * kSec);
  info = rl->GetRateLimitInfo("ip:1", 3);
  CHECK(info->allowed);
  CHECK(info->remaining == 3);
  r = rl->CheckRateLimit("ip:1", 3, 10 * kSec);
  CHECK(r->allowed);
  CHECK(r->remaining == 2);
}

TEST_CASE("RateLimiter: a fixed window opens at the key's first request, whatever the clock reads") {
  auto clock = std::make_shared<ManualClock>();
  auto rl = NewLocalRateLimiter(RateLimitMode::kFixedWindow, clock);
  clock->Advance(3 * kSec);  // less than one window since the clock's origin
  Result<RateLimitResult> r = rl->CheckRateLimit("k", 1, 10 * kSec);
  REQUIRE(r.ok());
  CHECK(r->allowed);
  CHECK(r->reset_in == 10 * kSec);  // not 7 s: the window did not start at the origin
  clock->Advance(8 * kSec);
  CHECK_FALSE(rl->CheckRateLimit("k", 1, 10 * kSec)->allowed);
  clock->Advance(2 * kSec);
  CHECK(rl->CheckRateLimit("k", 1, 10 * kSec)->allowed);
}

TEST_CASE("RateLimiter: a sliding window never admits more than `limit` in any window") {
  auto clock = std::make_shared<ManualClock>();
  auto rl = NewLocalRateLimiter(RateLimitMode::kSlidingWindow, clock);
  // 3 per 10 s: requests at 0, 4, 8 pass; at 9 it is refused; at 10 the first one has left.
  CHECK(rl->CheckRateLimit("k", 3, 10 * kSec)->allowed);
  clock->Advance(4 * kSec);
  CHECK(rl->CheckRateLimit("k", 3, 10 * kSec)->allowed);
  clock->Advance(4 * kSec);
  CHECK(rl->CheckRateLimit("k", 3, 10 * kSec)->allowed);
  clock->Advance(1 * kSec);
  Result<RateLimitResult> r = rl->CheckRateLimit("k", 3, 10 * kSec);
  CHECK_FALSE(r->allowed);
  CHECK(r->reset_in == 1 * kSec);
  // A fixed window would reset here and allow a burst of 3 more; the sliding one allows 1.
  clock->Advance(1 * kSec);
  CHECK(rl->CheckRateLimit("k", 3, 10 * kSec)->allowed);
  CHECK_FALSE(rl->CheckRateLimit("k", 3, 10 * kSec)->allowed);
  Result<RateLimitResult> info = rl->GetRateLimitInfo("k", 3);
  CHECK(info->remaining == 0);
  CHECK(info->reset_in == 4 * kSec);  // the request made at 4 s leaves at 14 s
  CHECK(rl->GetRateLimitInfo("never", 5)->remaining == 5);
}

TEST_CASE("RateLimiter: concurrent callers never get more than the limit per window") {
  for (RateLimitMode mode : {RateLimitMode::kFixedWindow, RateLimitMode::kSlidingWindow}) {
    auto clock = std::make_shared<ManualClock>();
    auto rl = NewLocalRateLimiter(mode, clock);
    for (int window = 0; window < 5; ++window) {
      std::atomic<uint64_t> allowed{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
          for (int i = 0; i < 500; ++i) {
            if (rl->CheckRateLimit("shared", 100, 10 * kSec)->allowed) ++allowed;
          }
        });
      }
      for (std::thread& t : threads) t.join();
      CHECK(allowed.load() == 100);
      clock->Advance(10 * kSec);
    }
  }
}

TEST_CASE("RateLimiter: zero limits and non-positive windows are refused") {
  auto rl = NewLocalRateLimiter(RateLimitMode::kFixedWindow);
  Result<RateLimitResult> r = rl->CheckRateLimit("k", 0, kSec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("limit") != std::string_view::npos);
  r = rl->CheckRateLimit("k", 5, Duration::zero());
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("window") != std::string_view::npos);
  r = rl->CheckRateLimit("k", 5, -kSec);
  CHECK(r.status().IsInvalidArgument());
  CHECK(rl->GetRateLimitInfo("k", 0).status().IsInvalidArgument());
  CHECK(rl->GetRateLimitInfo("k", 5)->remaining == 5);  // the refused calls counted nothing
}

}  // namespace larder
