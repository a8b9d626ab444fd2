// RunBenchmarks: the whole peer comparison, from calibration to the report files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "workload.h"

namespace larder::bench {

struct BenchOptions {
  std::filesystem::path out_dir = "build/bench";
  std::vector<std::string> systems;  // report order
  std::vector<Mix> mixes;
  std::vector<int> thread_counts = {1, 2};
  double seconds = 2.0;
  int reps = 3;
  bool throughput = true;
  bool memory = true;
  bool record = true;
  bool snapshot = true;
  bool eviction = true;
  bool invalidation = true;
  bool coordination = true;
  // --quick: suites with fixed sizes (coordination) run their short configuration.
  bool quick = false;
  uint64_t eviction_capacity = 1'000'000;
  uint64_t snapshot_entries = 10'000'000;
  // Also rewrite the results section of docs_dir/benchmarks.md and copy the chart there.
  bool update_docs = false;
  std::filesystem::path docs_dir = "docs";
};

// Calibrates the TSC, runs the selected suites, prints the tables and writes OUT/results.json,
// OUT/machine.json and OUT/throughput.png. Returns the process exit status.
int RunBenchmarks(const BenchOptions& options);

}  // namespace larder::bench
