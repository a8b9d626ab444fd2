// Reporting: the result tables, and results.json / machine.json.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "machine.h"
#include "results.h"
#include "table.h"
#include "workload.h"

namespace larder::bench {

// What was asked of the suites, so tables keep their order and say how they were measured.
struct ReportContext {
  std::vector<std::string> systems;
  std::vector<Mix> mixes;
  std::vector<int> thread_counts;
  double seconds = 0;
  int reps = 0;
};

// Throughput, larder's ratio to each peer, memory, and latency; tables without data are left out.
std::vector<Table> BuildTables(const Results& results, const ReportContext& context);

// Writes OUT/results.json (an array of rows) and OUT/machine.json. Throws on I/O failure.
void WriteJsonFiles(const Results& results, const MachineInfo& machine,
                    const std::filesystem::path& out_dir);

}  // namespace larder::bench
