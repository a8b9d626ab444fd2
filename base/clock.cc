// SystemClock: CLOCK_MONOTONIC for TTL arithmetic, CLOCK_MONOTONIC_COARSE as the cheap bound.
#include "larder/clock.h"

#include <time.h>

namespace larder {
namespace {

int64_t Read(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

class SystemClockImpl final : public Clock {
 public:
  SystemClockImpl() {
    timespec res{};
    clock_getres(CLOCK_MONOTONIC_COARSE, &res);
    const int64_t tick = int64_t{res.tv_sec} * 1'000'000'000 + res.tv_nsec;
    // The coarse clock trails the precise one by at most one tick while the tick runs; four
    // ticks leave room for a late tick. Deadlines closer than this read the precise clock.
    if (tick > 0) UseKernelCoarseClock(4 * tick);
  }
  int64_t NowNanos() const override { return Read(CLOCK_MONOTONIC); }
  int64_t CoarseNanos() const override {
    return CoarseSlackNanos() > 0 ? Read(CLOCK_MONOTONIC_COARSE) : NowNanos();
  }
  int64_t ToWallMillis(int64_t mono_nanos) const override {
    const int64_t wall_now = Read(CLOCK_REALTIME);
    const int64_t mono_now = Read(CLOCK_MONOTONIC);
    return (wall_now + (mono_nanos - mono_now)) / 1'000'000;
  }
  int64_t FromWallMillis(int64_t wall_millis) const override {
    const int64_t wall_now = Read(CLOCK_REALTIME);
    const int64_t mono_now = Read(CLOCK_MONOTONIC);
    return mono_now + (wall_millis * 1'000'000 - wall_now);
  }
};

}  // namespace

std::shared_ptr<Clock> SystemClock() {
  static const std::shared_ptr<Clock> clock = std::make_shared<SystemClockImpl>();
  return clock;
}

}  // namespace larder
