// Local rate limiter: the RateLimiter contract (rate_limiter_contract.h) on a ManualClock, and a
// fixed window that opens at the key's first request.
#include <doctest/doctest.h>

#include <memory>

#include "coord_testing.h"
#include "larder/coord.h"
#include "rate_limiter_contract.h"

namespace larder {
namespace {

using testing::kSec;

contract::LimiterUnderTest NewLimiter(RateLimitMode mode) {
  contract::LimiterUnderTest l;
  l.limiter = NewLocalRateLimiter(mode, l.clock);
  return l;
}

}  // namespace

TEST_CASE("RateLimiter (local): a fixed window admits `limit` requests, then resets after it") {
  contract::FixedWindowAdmitsLimitThenResets(NewLimiter);
}

TEST_CASE("RateLimiter (local): a fixed window opens at the key's first request, not the origin") {
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

TEST_CASE("RateLimiter (local): a sliding window never admits more than `limit` in any window") {
  contract::SlidingWindowNeverExceedsLimit(NewLimiter);
}

TEST_CASE("RateLimiter (local): concurrent callers never get more than the limit per window") {
  contract::ConcurrentCallersGetExactlyTheLimit(NewLimiter, /*windows=*/5, /*tries=*/500);
}

TEST_CASE("RateLimiter (local): zero limits and non-positive windows are refused") {
  contract::RefusesZeroLimitsAndBadWindows(NewLimiter);
}

}  // namespace larder
