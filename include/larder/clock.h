// Clock: the one place larder reads time from. SystemClock for production, ManualClock for tests.
//
// All TTL arithmetic uses a monotonic nanosecond count from an arbitrary origin; wall-clock epoch
// milliseconds appear only at the edges (JSON expiresAt, snapshots) through ToWallMillis().
//
// Thread safety: every method of every Clock is safe to call from any thread.
// Ownership: caches hold a std::shared_ptr<Clock>; a clock outlives every cache using it.
#pragma once

#include <time.h>

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
  // deadline lies within the slack, so answers stay exact. Default: NowNanos() with zero slack;
  // a clock that overrides CoarseNanos() declares its slack with SetCoarseSlack().
  virtual int64_t CoarseNanos() const { return NowNanos(); }
  int64_t CoarseSlackNanos() const { return coarse_slack_; }

  // Wall-clock milliseconds since the Unix epoch at monotonic time `mono_nanos`.
  virtual int64_t ToWallMillis(int64_t mono_nanos) const = 0;
  // Monotonic time at wall-clock epoch milliseconds `wall_millis` (may lie in the past).
  virtual int64_t FromWallMillis(int64_t wall_millis) const = 0;

  // The time to compute a deadline `ttl_nanos` ahead from: the coarse time when the coarse
  // clock's lag is under 1/1024 of the TTL (a 1 s TTL tolerates 1 ms), else the precise time.
  int64_t NowForDeadline(int64_t ttl_nanos) const {
    if (coarse_slack_ != 0 && ttl_nanos / 1024 >= coarse_slack_) {
      return kernel_coarse_ ? KernelCoarseNanos() : CoarseNanos();
    }
    return NowNanos();
  }

  // True when `deadline` (monotonic nanoseconds) has been reached: NowNanos() >= deadline.
  // On the system clock this costs one vDSO read of the kernel's coarse clock (no virtual call)
  // unless the deadline is within the coarse clock's slack.
  bool Reached(int64_t deadline) const {
    const int64_t coarse = kernel_coarse_ ? KernelCoarseNanos() : CoarseNanos();
    if (coarse >= deadline) return true;
    if (deadline - coarse > coarse_slack_) return false;
    return NowNanos() >= deadline;
  }

 protected:
  void SetCoarseSlack(int64_t slack_nanos) noexcept { coarse_slack_ = slack_nanos; }
  // For the system clock: CoarseNanos() is CLOCK_MONOTONIC_COARSE, read inline by Reached().
  void UseKernelCoarseClock(int64_t slack_nanos) noexcept {
    kernel_coarse_ = true;
    coarse_slack_ = slack_nanos;
  }
  static int64_t KernelCoarseNanos() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
  }

 private:
  bool kernel_coarse_ = false;
  int64_t coarse_slack_ = 0;
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
