// RunBenchmarks: calibration, the suites, and every output they feed.
#include "driver.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <system_error>

#include "coordination_suite.h"
#include "docs_section.h"
#include "machine.h"
#include "memory.h"
#include "plot.h"
#include "record_suite.h"
#include "eviction_suite.h"
#include "invalidation_suite.h"
#include "snapshot_suite.h"
#include "report.h"
#include "suite.h"
#include "tsc.h"

namespace larder::bench {
namespace {

std::string DocsSection(const std::vector<Table>& tables, const MachineInfo& machine,
                        const BenchOptions& options, int chart_threads, bool with_chart) {
  std::array<char, 32> seconds{};
  std::snprintf(seconds.data(), seconds.size(), "%g", options.seconds);
  std::string s = "Measured " + machine.date + " on " + machine.Summary() + "; " +
                  std::to_string(options.reps) + " runs of " + seconds.data() +
                  " s per cell. Raw rows: `results.json` and `machine.json` in the output "
                  "directory.\n";
  for (const Table& t : tables) s += "\n" + RenderMarkdown(t);
  if (with_chart) {
    s += "\n![Throughput at " + std::to_string(chart_threads) +
         " threads](benchmark-throughput.png)\n";
  }
  return s;
}

bool UpdateDocs(const std::vector<Table>& tables, const MachineInfo& machine,
                const BenchOptions& options, int chart_threads, bool chart_drawn) {
  bool with_chart = false;
  if (chart_drawn) {
    std::error_code ec;
    std::filesystem::copy_file(options.out_dir / "throughput.png",
                               options.docs_dir / "benchmark-throughput.png",
                               std::filesystem::copy_options::overwrite_existing, ec);
    if (ec) {
      std::fprintf(stderr, "cannot copy the chart into %s: %s\n", options.docs_dir.c_str(),
                   ec.message().c_str());
      return false;
    }
    with_chart = true;
  }
  std::string why;
  if (!ReplaceResultsSection(options.docs_dir / "benchmarks.md",
                             DocsSection(tables, machine, options, chart_threads, with_chart),
                             &why)) {
    std::fprintf(stderr, "cannot update the docs: %s\n", why.c_str());
    return false;
  }
  std::printf("updated %s\n", (options.docs_dir / "benchmarks.md").c_str());
  return true;
}

}  // namespace

int RunBenchmarks(const BenchOptions& options) {
  std::filesystem::create_directories(options.out_dir);
  const TscCalibration tsc = CalibrateTsc();
  const MachineInfo machine = DescribeMachine(1.0 / tsc.ns_per_cycle);
  std::printf("%s\nTSC %.3f GHz; an empty timed region costs %llu cycles (subtracted)\n",
              machine.Summary().c_str(), machine.tsc_ghz,
              static_cast<unsigned long long>(tsc.overhead_cycles));

  Results results;
  if (options.throughput) {
    ThroughputConfig config{options.systems, options.mixes, options.thread_counts, options.seconds,
                            options.reps};
    results.throughput = RunThroughputSuite(config, tsc);
  }
  if (options.memory) {
    std::printf("memory: one fresh process per system\n");
    results.memory = RunMemorySuite(options.systems);
  }
  if (options.record) {
    RunRecordSuite({options.out_dir, options.thread_counts, options.seconds, options.reps}, tsc,
                   &results);
  }

  if (options.snapshot) {
    RunSnapshotSuite({options.out_dir, options.snapshot_entries, options.reps}, &results);
  }
  if (options.eviction) {
    RunEvictionSuite({options.thread_counts, options.seconds, options.reps,
                      options.eviction_capacity},
                     &results);
  }
  if (options.invalidation) RunInvalidationSuite({}, &results);
  if (options.coordination) {
    RunCoordinationSuite(options.quick ? QuickCoordinationConfig() : CoordinationConfig{},
                         &results);
  }

  const ReportContext context{options.systems, options.mixes, options.thread_counts,
                              options.seconds, options.reps};
  const std::vector<Table> tables = BuildTables(results, context);
  for (const Table& t : tables) std::printf("\n%s", RenderText(t).c_str());
  std::printf("\n");

  WriteJsonFiles(results, machine, options.out_dir);
  std::printf("wrote %s and %s\n", (options.out_dir / "results.json").c_str(),
              (options.out_dir / "machine.json").c_str());
  std::string why;
  const int chart_threads =
      *std::max_element(options.thread_counts.begin(), options.thread_counts.end());
  const bool chart_drawn = options.throughput && DrawThroughputPlot(results, context, chart_threads,
                                                                    options.out_dir, &why);
  if (chart_drawn) {
    std::printf("wrote %s\n", (options.out_dir / "throughput.png").c_str());
  } else if (options.throughput) {
    std::printf("no chart: %s\n", why.c_str());
  }
  if (options.update_docs && !UpdateDocs(tables, machine, options, chart_threads, chart_drawn)) {
    return 1;
  }
  return 0;
}

}  // namespace larder::bench
