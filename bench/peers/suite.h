// The throughput suite: every selected system × mix × thread count, repeated.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "peer.h"
#include "results.h"
#include "tsc.h"
#include "workload.h"

namespace larder::bench {

struct ThroughputConfig {
  std::vector<std::string> systems;  // peer names, in report order
  std::vector<Mix> mixes;
  std::vector<int> thread_counts;
  double seconds = 2.0;  // per repetition
  int reps = 3;
};

// Builds the key set and per-thread op streams once, then for each system: opens it, fills it,
// and runs every mix and thread count on that one instance. Prints a line per result; systems
// that cannot run here are skipped with a note.
std::vector<ThroughputRow> RunThroughputSuite(const ThroughputConfig& config,
                                              const TscCalibration& tsc);

// `reps` timed runs of `peer` with one thread per stream (noisy runs retried), summarised as a
// row: median, min and max ops/s and latency percentiles. Folds the reads into *checksum.
ThroughputRow MeasureThroughput(Peer& peer, const std::string& system, const std::string& workload,
                                std::span<const OpStream> streams, double seconds, int reps,
                                std::span<const int> cpus, const TscCalibration& tsc,
                                uint64_t* checksum);
// One line per row on stdout, with warnings for noisy runs and failed ops.
void PrintThroughputRow(const ThroughputRow& row);

}  // namespace larder::bench
