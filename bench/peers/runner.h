// RunTimed: one timed measurement of a system by pinned worker threads.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "histogram.h"
#include "peer.h"
#include "workload.h"

namespace larder::bench {

struct RunResult {
  double seconds = 0;  // from the first thread's start to the last thread's stop
  uint64_t ops = 0;
  uint64_t failed_ops = 0;
  uint64_t checksum = 0;
  LatencyHistogram latency;  // cycles, all threads merged
  double foreign_cpu = 0;    // share of all CPUs' time other processes took meanwhile

  double ops_per_sec() const { return seconds > 0 ? static_cast<double>(ops) / seconds : 0; }
};

// The CPUs this process may run on, in ascending order.
std::vector<int> AllowedCpus();

// Runs one thread per stream against `peer` for about `seconds`: thread t is pinned to
// cpus[t % cpus.size()], creates its Worker, waits on a barrier with the others, then runs its
// stream in chunks of kOpsPerChunk until a shared stop flag is raised. Also measures how much
// CPU other processes took meanwhile. Rethrows the first exception a thread threw.
RunResult RunTimed(Peer& peer, std::span<const OpStream> streams, std::span<const int> cpus,
                   double seconds);

}  // namespace larder::bench
