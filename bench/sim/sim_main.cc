// larder-sim: replays cache traces against the engine's eviction policies and Bélády's OPT.
//
//   larder-sim --trace PATH --format lirs|arc|cache2k|int64|adaptsize --capacities 250,500
//              [--policies lru,wtinylfu,opt] [--json OUT] [--plots DIR] [--name NAME]
//   larder-sim --traces-dir DIR [--json OUT] [--plots DIR] [--markdown OUT]
//
// The second form replays every trace of the shared trace collection at its standard capacities.
// Exit codes: 0 done, 1 a trace could not be read, 2 bad arguments.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "report.h"
#include "simulators.h"
#include "trace.h"

namespace larder::sim {
namespace {

struct TraceJob {
  std::string name;
  std::string path;
  TraceFormat format;
  std::vector<uint64_t> capacities;
};

// The shared collection (../shared/traces/README.md), with the capacities its reference table
// uses plus a few more points for the charts.
std::vector<TraceJob> CollectionJobs(const std::filesystem::path& dir) {
  const auto at = [&](const char* file) { return (dir / file).string(); };
  return {
      {"oltp", at("arc-oltp.lis.zst"), TraceFormat::kArc, {250, 500, 1000, 1500, 2000, 3000}},
      {"glimpse", at("lirs-gli.trace.gz"), TraceFormat::kLirs, {250, 500, 1000, 1500, 2000, 2500}},
      {"loop", at("lirs-loop.trace.gz"), TraceFormat::kLirs, {256, 512, 768, 1000}},
      {"sprite", at("lirs-sprite.trace.gz"), TraceFormat::kLirs, {100, 200, 400, 700, 1000}},
      {"multi2", at("lirs-multi2.trace.gz"), TraceFormat::kLirs, {600, 1200, 1800, 2400, 3000}},
      {"web12", at("cache2k-web12.trace.xz"), TraceFormat::kCache2k, {300, 600, 1200, 2000, 3000}},
      {"scarab", at("scarab-recs.trace.xz"), TraceFormat::kInt64, {1000, 5000, 10000, 25000, 50000}},
      {"adaptsize", at("adaptsize-request.trace.xz"), TraceFormat::kAdaptSize,
       {uint64_t{16} << 20, uint64_t{64} << 20, uint64_t{256} << 20, uint64_t{1} << 30}},
  };
}

Result<TraceRun> RunTrace(const TraceJob& job, const std::vector<PolicySpec>& policies,
                          unsigned threads) {
  const auto start = std::chrono::steady_clock::now();
  const bool weighted = job.format == TraceFormat::kAdaptSize;
  TraceRun run;
  run.trace = job.name;
  run.format = std::string(FormatName(job.format));
  run.weighted = weighted;
  run.capacities = job.capacities;
  std::sort(run.capacities.begin(), run.capacities.end());
  bool want_opt = false;
  struct Live {
    std::string policy;
    uint64_t capacity;
    std::unique_ptr<EngineSim> sim;
  };
  std::vector<Live> sims;
  for (const PolicySpec& p : policies) {
    run.policies.push_back(p.name);
    if (p.opt) {
      want_opt = true;
      continue;
    }
    for (uint64_t c : run.capacities) {
      Result<std::unique_ptr<EngineSim>> sim = EngineSim::Open(p, c, weighted);
      if (!sim.ok()) return sim.status();
      sims.push_back({p.name, c, std::move(*sim)});
    }
  }
  // Each thread owns some simulators and streams the trace itself: a simulator is only ever
  // driven by one thread, so its engine sees one read-buffer stripe and replays are repeatable.
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(sims.size())));
  OptSim opt;  // thread 0 also feeds OPT (and counts keys)
  uint64_t requests = 0;
  std::vector<Status> errors(threads);
  const auto work = [&](unsigned t) {
    Result<std::unique_ptr<TraceReader>> reader = TraceReader::Open(job.path, job.format);
    if (!reader.ok()) {
      errors[t] = reader.status();
      return;
    }
    std::vector<Request> batch;
    batch.reserve(1 << 16);
    while ((*reader)->Next(&batch, 1 << 16)) {
      for (size_t i = t; i < sims.size(); i += threads) sims[i].sim->Replay(batch);
      if (t == 0) {
        requests += batch.size();
        for (const Request& r : batch) opt.Observe(r);
      }
    }
    errors[t] = (*reader)->status();
  };
  std::vector<std::thread> workers;
  for (unsigned t = 1; t < threads; ++t) workers.emplace_back(work, t);
  work(0);
  for (std::thread& w : workers) w.join();
  for (const Status& e : errors) {
    if (!e.ok()) return e;
  }
  if (requests == 0) {
    return Status::InvalidArgument(fmt::format("trace {}: holds no requests", job.path));
  }
  run.requests = requests;
  for (const Live& l : sims) {
    run.cells.push_back({job.name, l.policy, l.capacity, l.sim->counts().ratio()});
  }
  run.unique_keys = opt.unique_keys();
  if (want_opt) {
    for (uint64_t c : run.capacities) {
      run.cells.push_back({job.name, "opt", c, opt.Run(c, weighted).ratio()});
    }
  }
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

int Main(int argc, char** argv) {
  CLI::App app{"Replays cache traces against larder's eviction policies and Bélády's OPT."};
  std::string trace, format_name, name, traces_dir, json, plots, markdown;
  std::vector<uint64_t> capacities;
  std::vector<std::string> policy_names = {"lru", "wtinylfu", "s3fifo", "opt"};
  unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  auto* trace_opt = app.add_option("--trace", trace, "Trace file to replay");
  app.add_option("--format", format_name, "Trace format: lirs, arc, cache2k, int64, adaptsize")
      ->needs(trace_opt);
  app.add_option("--capacities", capacities,
                 "Capacities, comma-separated (entries; bytes for adaptsize)")
      ->delimiter(',')
      ->needs(trace_opt);
  app.add_option("--name", name, "Name of the trace in the output (default: file name)")
      ->needs(trace_opt);
  app.add_option("--traces-dir", traces_dir,
                 "Replay the shared trace collection in DIR at its standard capacities")
      ->excludes(trace_opt);
  app.add_option("--policies", policy_names,
                 "Policies, comma-separated: " + fmt::format("{}", fmt::join(PolicyNames(), ", ")))
      ->delimiter(',');
  app.add_option("--json", json, "Write every hit ratio to this JSON file");
  app.add_option("--plots", plots, "Draw hit_ratio_<trace>.png charts into this directory");
  app.add_option("--markdown", markdown, "Write the tables as markdown to this file");
  app.add_option("--threads", threads, "Threads replaying simulators in parallel")
      ->check(CLI::Range(1u, 64u));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  std::vector<PolicySpec> policies;
  for (const std::string& n : policy_names) {
    Result<PolicySpec> p = ParsePolicy(n);
    if (!p.ok()) {
      std::cerr << "larder-sim: " << p.status().message() << '\n';
      return 2;
    }
    policies.push_back(*p);
  }
  std::vector<TraceJob> jobs;
  if (!traces_dir.empty()) {
    jobs = CollectionJobs(traces_dir);
  } else if (!trace.empty()) {
    Result<TraceFormat> format = ParseTraceFormat(format_name);
    if (format_name.empty() || !format.ok()) {
      std::cerr << "larder-sim: "
                << (format_name.empty() ? std::string("--format: required with --trace")
                                        : std::string(format.status().message()))
                << '\n';
      return 2;
    }
    if (capacities.empty() ||
        std::any_of(capacities.begin(), capacities.end(), [](uint64_t c) { return c == 0; })) {
      std::cerr << "larder-sim: --capacities: give one or more positive capacities\n";
      return 2;
    }
    if (name.empty()) {
      name = std::filesystem::path(trace).filename().string();
      name = name.substr(0, name.find('.'));
    }
    jobs.push_back({name, trace, *format, capacities});
  } else {
    std::cerr << "larder-sim: give --trace PATH --format F --capacities C,... or --traces-dir DIR\n";
    return 2;
  }

  std::vector<TraceRun> runs;
  int rc = 0;
  for (const TraceJob& job : jobs) {
    Result<TraceRun> run = RunTrace(job, policies, threads);
    if (!run.ok()) {
      std::cerr << "larder-sim: " << run.status().message() << '\n';
      rc = 1;
      continue;
    }
    std::cout << FormatTable(*run, false) << fmt::format("({:.1f} s)\n\n", run->seconds)
              << std::flush;
    if (!plots.empty()) {
      std::string why;
      if (!DrawChart(*run, plots, &why)) std::cerr << "larder-sim: no chart: " << why << '\n';
    }
    runs.push_back(std::move(*run));
  }
  if (!json.empty()) {
    std::ofstream(json) << ToJson(runs);
    std::cout << "wrote " << json << '\n';
  }
  if (!markdown.empty()) {
    std::ofstream md(markdown);
    for (const TraceRun& r : runs) {
      md << fmt::format("**{}** ({} requests, {} keys), hit ratio %\n\n", r.trace, r.requests,
                        r.unique_keys)
         << FormatTable(r, true) << '\n';
    }
    std::cout << "wrote " << markdown << '\n';
  }
  return rc;
}

}  // namespace
}  // namespace larder::sim

int main(int argc, char** argv) { return larder::sim::Main(argc, argv); }
