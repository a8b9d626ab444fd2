// Cycle-accurate timing with the TSC, calibrated against std::chrono::steady_clock.
#pragma once

#include <x86intrin.h>

#include <cstdint>

namespace larder::bench {

// Reads the TSC with lfence on both sides, so the timed op can neither start before the first
// reading nor finish after the second.
inline uint64_t ReadTsc() noexcept {
  _mm_lfence();
  const uint64_t t = __rdtsc();
  _mm_lfence();
  return t;
}

struct TscCalibration {
  double ns_per_cycle = 0;
  // Median cycles of an empty timed region (two ReadTsc calls); subtracted from percentiles.
  uint64_t overhead_cycles = 0;

  // Converts a cycle-count percentile to nanoseconds, net of the timer's own cost.
  double ToNanos(uint64_t cycles) const {
    const uint64_t net = cycles > overhead_cycles ? cycles - overhead_cycles : 0;
    return static_cast<double>(net) * ns_per_cycle;
  }
};

// Measures the TSC rate over ~200 ms of steady_clock time, and the empty-region overhead.
TscCalibration CalibrateTsc();

}  // namespace larder::bench
