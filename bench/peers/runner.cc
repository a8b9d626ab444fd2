// RunTimed: pinned threads, a start barrier, a stop flag, and the merge of their stats.
#include "runner.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>

#include "cpu_meter.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

bool PinCallingThread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof(set), &set) == 0;
}

}  // namespace

std::vector<int> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

RunResult RunTimed(Peer& peer, std::span<const OpStream> streams, std::span<const int> cpus,
                   double seconds) {
  const size_t n = streams.size();
  std::vector<WorkerStats> stats(n);
  std::vector<Clock::time_point> starts(n);
  std::vector<Clock::time_point> stops(n);
  alignas(64) std::atomic<bool> stop{false};
  std::barrier start_line(static_cast<std::ptrdiff_t>(n + 1));  // the workers and this thread
  std::mutex error_mu;
  std::exception_ptr error;

  auto body = [&](size_t t) {
    bool arrived = false;
    try {
      if (!PinCallingThread(cpus[t % cpus.size()])) {
        std::fprintf(stderr, "warning: cannot pin thread %zu to cpu %d\n", t,
                     cpus[t % cpus.size()]);
      }
      std::unique_ptr<Worker> worker = peer.NewWorker();
      arrived = true;
      start_line.arrive_and_wait();
      starts[t] = Clock::now();
      size_t pos = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        worker->Run(streams[t], pos, kOpsPerChunk, &stats[t]);
        pos = (pos + kOpsPerChunk) % kStreamLength;
      }
      stops[t] = Clock::now();
    } catch (...) {
      {
        std::lock_guard lock(error_mu);
        if (!error) error = std::current_exception();
      }
      stop.store(true, std::memory_order_relaxed);
      if (!arrived) start_line.arrive_and_drop();
      starts[t] = stops[t] = Clock::now();
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(n);
  for (size_t t = 0; t < n; ++t) threads.emplace_back(body, t);
  start_line.arrive_and_wait();
  const ForeignCpuMeter meter(peer.HelperPids());
  const Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(seconds));
  while (!stop.load(std::memory_order_relaxed) && Clock::now() < deadline) {
    std::this_thread::sleep_for(
        std::min<Clock::duration>(deadline - Clock::now(), std::chrono::milliseconds(50)));
  }
  stop.store(true, std::memory_order_relaxed);
  for (std::thread& th : threads) th.join();
  if (error) std::rethrow_exception(error);

  RunResult result;
  result.foreign_cpu = meter.ForeignShare();
  const Clock::time_point first = *std::min_element(starts.begin(), starts.end());
  const Clock::time_point last = *std::max_element(stops.begin(), stops.end());
  result.seconds = std::chrono::duration<double>(last - first).count();
  for (const WorkerStats& s : stats) {
    result.ops += s.ops;
    result.failed_ops += s.failed_ops;
    result.checksum += s.checksum;
    result.latency.Merge(s.latency);
  }
  return result;
}

}  // namespace larder::bench
