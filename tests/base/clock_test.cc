// Clocks: manual clock arithmetic, system clock bounds, the coarse fast path of Reached().
#include <doctest/doctest.h>

#include "larder/clock.h"

namespace larder {

TEST_CASE("ManualClock: moves only when advanced, never backwards") {
  ManualClock clock(1'000);
  CHECK(clock.NowNanos() == 0);
  clock.Advance(std::chrono::milliseconds(5));
  CHECK(clock.NowNanos() == 5'000'000);
  clock.Advance(Duration(-10));
  CHECK(clock.NowNanos() == 5'000'000);
  CHECK(clock.ToWallMillis(clock.NowNanos()) == 1'005);
  CHECK(clock.FromWallMillis(1'005) == 5'000'000);
}

TEST_CASE("Clock::Reached: exact at the boundary") {
  ManualClock clock;
  clock.Advance(Duration(100));
  CHECK(clock.Reached(100));
  CHECK(clock.Reached(99));
  CHECK_FALSE(clock.Reached(101));
}

TEST_CASE("SystemClock: coarse time is a lower bound within the slack") {
  auto clock = SystemClock();
  const int64_t coarse = clock->CoarseNanos();
  const int64_t now = clock->NowNanos();
  CHECK(coarse <= now);
  CHECK(now - coarse <= clock->CoarseSlackNanos() + 1'000'000);
  // A deadline in the past is reached; one an hour ahead is not.
  CHECK(clock->Reached(now - 1));
  CHECK_FALSE(clock->Reached(now + 3'600'000'000'000));
  // Wall conversion round-trips to the millisecond.
  const int64_t wall = clock->ToWallMillis(now);
  CHECK(std::abs(clock->FromWallMillis(wall) - now) < 2'000'000);
}

}  // namespace larder
