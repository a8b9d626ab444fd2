// Clock: the one place larder reads time from. SystemClock for production, ManualClock for tests.
//
// All TTL arithmetic uses a monotonic nanosecond count from an arbitrary origin; wall-clock epoch
// milliseconds appear only at the edges (JSON expiresAt, snapshots) through ToWallMillis().
//
// Thread safety: every method of every Clock is safe to call from any thread.
// Ownership: caches hold a std::shared_ptr<Clock>; a clock outlives every cache using it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace larder {

using Duration = std::chrono::nanoseconds;

class Clock {
 public:
  virtual ~Clock() = default;

  // Monotonic nanoseconds since an arbitrary origin; never decreases.
  virtual int64_t NowNanos() const = 0;

  // A cheap lower bound of NowNanos(): NowNanos() - CoarseSlackNanos() <= CoarseNanos() <=
  // NowNanos(). Expiry checks on the read path use it and fall back to NowNanos() only when a
  // deadline lies within the slack, so answers stay exact. Default: NowNanos() with zero slack.
  virtual int64_t CoarseNanos() const { return NowNanos(); }
  virtual int64_t CoarseSlackNanos() const { return 0; }

  // Wall-clock milliseconds since the Unix epoch at monotonic time `mono_nanos`.
  virtual int64_t ToWallMillis(int64_t mono_nanos) const = 0;
  // Monotonic time at wall-clock epoch milliseconds `wall_millis` (may lie in the past).
  virtual int64_t FromWallMillis(int64_t wall_millis) const = 0;

  // True when `deadline` (monotonic nanoseconds) has been reached: NowNanos() >= deadline.
  bool Reached(int64_t deadline) const {
    const int64_t coarse = CoarseNanos();
    if (coarse >= deadline) return true;
    if (deadline - coarse > CoarseSlackNanos()) return false;
    return NowNanos() >= deadline;
  }
};

// The process-wide monotonic system clock (CLOCK_MONOTONIC, with the kernel's coarse clock as
// the cheap lower bound). Never null.
std::shared_ptr<Clock> SystemClock();

// A clock that moves only when told to. Starts at monotonic 0 == wall `start_wall_millis`.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_wall_millis = 1'700'000'000'000) noexcept
      : wall_origin_millis_(start_wall_millis) {}

  int64_t NowNanos() const override { return now_.load(std::memory_order_acquire); }
  int64_t ToWallMillis(int64_t mono_nanos) const override {
    return wall_origin_millis_ + mono_nanos / 1'000'000;
  }
  int64_t FromWallMillis(int64_t wall_millis) const override {
    return (wall_millis - wall_origin_millis_) * 1'000'000;
  }

  // Moves time forward. REQUIRES: d >= 0 (negative values are ignored: time never goes back).
  void Advance(Duration d) noexcept {
    if (d.count() > 0) now_.fetch_add(d.count(), std::memory_order_acq_rel);
  }

 private:
  const int64_t wall_origin_millis_;
  std::atomic<int64_t> now_{0};
};

}  // namespace larder
