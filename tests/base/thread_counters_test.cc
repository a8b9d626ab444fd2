// ThreadCounters: exact sums across threads, reset by baseline.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "base/thread_counters.h"

namespace larder {

TEST_CASE("ThreadCounters: sums every thread's increments exactly") {
  ThreadCounters<2> counters;
  constexpr int kThreads = 6;
  constexpr int kAdds = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAdds; ++i) {
        counters.Add(0);
        counters.Add(1, 3);
      }
    });
  }
  for (auto& t : threads) t.join();
  CHECK(counters.Sum(0) == uint64_t{kThreads} * kAdds);
  CHECK(counters.Sum(1) == uint64_t{kThreads} * kAdds * 3);
}

TEST_CASE("ThreadCounters: Reset zeroes the visible sums, later adds count from zero") {
  ThreadCounters<1> counters;
  counters.Add(0, 10);
  counters.Reset();
  CHECK(counters.Sum(0) == 0);
  counters.Add(0, 4);
  CHECK(counters.Sum(0) == 4);
}

}  // namespace larder
