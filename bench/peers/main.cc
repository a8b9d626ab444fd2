// larder_bench: compares larder::Cache with in-process and server peers (see docs/benchmarks.md).
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "driver.h"
#include "memory.h"
#include "record_suite.h"
#include "peer.h"
#include "propagation.h"
#include "workload.h"

namespace {

using larder::bench::BenchOptions;

std::vector<std::string> AllSystemNames() {
  std::vector<std::string> names;
  for (const auto& p : larder::bench::AllPeers()) names.emplace_back(p.name);
  return names;
}

std::vector<std::string> DefaultMixNames() {
  std::vector<std::string> names;
  for (const auto& m : larder::bench::DefaultMixes()) names.push_back(m.name);
  return names;
}

// Keeps the canonical report order whatever order the user listed systems in.
std::vector<std::string> InReportOrder(const std::vector<std::string>& chosen) {
  std::vector<std::string> ordered;
  for (const std::string& name : AllSystemNames()) {
    for (const std::string& c : chosen) {
      if (c == name) {
        ordered.push_back(name);
        break;
      }
    }
  }
  return ordered;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Compares larder::Cache with std, TBB, libcuckoo, RocksDB and Redis peers, and "
               "larder::RecordCache with SQLite."};
  std::string out_dir = "build/bench";
  bool quick = false;
  uint64_t snapshot_entries = 10'000'000;
  double seconds = 2.0;
  int reps = 3;
  std::vector<std::string> systems = AllSystemNames();
  std::vector<std::string> workloads = DefaultMixNames();
  std::vector<int> threads = {1, 2};
  std::vector<std::string> suites = {"throughput", "memory",       "record",      "snapshot",
                                     "eviction",   "invalidation", "coordination"};
  bool update_docs = false;
  std::string docs_dir = "docs";
  std::string memory_child;

  app.add_option("--out", out_dir, "Directory for results.json, machine.json, throughput.png")
      ->capture_default_str();
  app.add_option("--snapshot-entries", snapshot_entries, "Entries the snapshot suite saves and loads");
  app.add_flag("--quick", quick, "Short runs: 0.5 s and 1 repetition unless given explicitly");
  app.add_option("--seconds", seconds, "Length of one timed run")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "Repetitions per cell; the median is reported")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--systems", systems, "Systems to run, comma-separated")
      ->delimiter(',')
      ->check(CLI::IsMember(AllSystemNames()))
      ->capture_default_str();
  app.add_option("--workloads", workloads, "Read/write mixes, comma-separated (R/W percent)")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](const std::string& s) {
            return larder::bench::ParseMix(s) ? std::string() : "not a mix like 95/5: " + s;
          },
          "R/W"))
      ->capture_default_str();
  app.add_option("--threads", threads, "Thread counts, comma-separated")
      ->delimiter(',')
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--suites", suites,
                 "Suites to run: throughput, memory, record, snapshot, eviction, invalidation, "
                 "coordination")
      ->delimiter(',')
      ->check(CLI::IsMember({"throughput", "memory", "record", "snapshot", "eviction",
                             "invalidation", "coordination"}))
      ->capture_default_str();
  app.add_flag("--update-docs", update_docs,
               "Rewrite the results section of DOCS/benchmarks.md and copy the chart there");
  app.add_option("--docs", docs_dir, "The docs directory, for --update-docs")
      ->capture_default_str();
  // Internal: the memory suite re-runs this binary once per system.
  app.add_option("--memory-child", memory_child)->group("");
  std::string record_memory_child;
  app.add_option("--record-memory-child", record_memory_child)->group("");
  // Internal: the coordination suite's receiving process.
  std::string propagation_child;
  app.add_option("--propagation-child", propagation_child)->group("");
  CLI11_PARSE(app, argc, argv);

  try {
    if (!memory_child.empty()) return larder::bench::MemoryChildMain(memory_child);
    if (!record_memory_child.empty()) {
      return larder::bench::RecordMemoryChildMain(record_memory_child);
    }
    if (!propagation_child.empty()) {
      return larder::bench::PropagationChildMain(propagation_child);
    }

    BenchOptions options;
    options.out_dir = out_dir;
    options.systems = InReportOrder(systems);
    for (const std::string& w : workloads) options.mixes.push_back(*larder::bench::ParseMix(w));
    options.thread_counts = threads;
    options.seconds = quick && app.count("--seconds") == 0 ? 0.5 : seconds;
    options.reps = quick && app.count("--reps") == 0 ? 1 : reps;
    options.throughput = std::find(suites.begin(), suites.end(), "throughput") != suites.end();
    options.memory = std::find(suites.begin(), suites.end(), "memory") != suites.end();
    options.record = std::find(suites.begin(), suites.end(), "record") != suites.end();
    options.snapshot = std::find(suites.begin(), suites.end(), "snapshot") != suites.end();
    options.eviction = std::find(suites.begin(), suites.end(), "eviction") != suites.end();
    options.invalidation =
        std::find(suites.begin(), suites.end(), "invalidation") != suites.end();
    options.coordination = std::find(suites.begin(), suites.end(), "coordination") != suites.end();
    options.quick = quick;
    options.snapshot_entries = snapshot_entries;
    if (quick && app.count("--snapshot-entries") == 0) options.snapshot_entries = 1'000'000;
    options.update_docs = update_docs;
    options.docs_dir = docs_dir;
    return larder::bench::RunBenchmarks(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "larder_bench: %s\n", e.what());
    return 1;
  }
}
