// RunBounded: a fixed set of runners pulling indexes from one counter.
#include "loaders/warmer_pool.h"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>
#include <vector>

namespace larder::loaders {

void RunBounded(size_t n, size_t runners, const std::function<void(size_t)>& job) {
  // One counter hands out indexes, so jobs start in order and each runner runs one job at a
  // time: the bound holds by construction, with no semaphore to get wrong.
  std::atomic<size_t> next{0};
  const auto run = [&] {
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) job(i);
  };
  std::vector<std::thread> threads;
  const size_t extra = n == 0 ? 0 : std::min(n, std::max<size_t>(runners, 1)) - 1;
  threads.reserve(extra);
  for (size_t t = 0; t < extra; ++t) {
    try {
      threads.emplace_back(run);
    } catch (const std::system_error&) {
      break;  // out of threads: the runners already started (and this one) do the rest
    }
  }
  run();
  for (std::thread& t : threads) t.join();
}

}  // namespace larder::loaders
