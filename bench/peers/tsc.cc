// TSC calibration against steady_clock.
#include "tsc.h"

#include <chrono>

#include "histogram.h"

namespace larder::bench {

TscCalibration CalibrateTsc() {
  using Clock = std::chrono::steady_clock;
  TscCalibration cal;
  const Clock::time_point t0 = Clock::now();
  const uint64_t c0 = ReadTsc();
  Clock::time_point t1;
  do {
    t1 = Clock::now();
  } while (t1 - t0 < std::chrono::milliseconds(200));
  const uint64_t c1 = ReadTsc();
  const double ns = static_cast<double>(std::chrono::nanoseconds(t1 - t0).count());
  cal.ns_per_cycle = ns / static_cast<double>(c1 - c0);

  LatencyHistogram empty;
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t start = ReadTsc();
    empty.Record(ReadTsc() - start);
  }
  cal.overhead_cycles = empty.Percentile(0.5);
  return cal;
}

}  // namespace larder::bench
