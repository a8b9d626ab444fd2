// The throughput suite: every selected system × mix × thread count, repeated.
#pragma once

#include <string>
#include <vector>

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

}  // namespace larder::bench
