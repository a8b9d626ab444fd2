// The throughput suite: workload preparation, fills, and the repeated timed runs.
#include "suite.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <utility>

#include "peer.h"
#include "runner.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Attempts per repetition while other processes disturb it; the quietest attempt is kept.
constexpr int kAttemptsPerRep = 3;

// Fixed seeds: every run of the suite replays the same streams.
constexpr uint64_t kKeySeed = 0x6b657973;    // + thread index
constexpr uint64_t kWriteSeed = 0x6d697873;  // + 64 * mix index + thread index

// The per-thread streams, built before any system is timed.
struct Workload {
  KeySet keys{kKeyCount};
  std::vector<std::vector<uint32_t>> key_streams;              // [thread]
  std::vector<std::vector<std::vector<uint8_t>>> write_flags;  // [mix][thread]
};

void Prepare(const ThroughputConfig& config, Workload* w) {
  const int max_threads =
      *std::max_element(config.thread_counts.begin(), config.thread_counts.end());
  const ScrambledZipf zipf(kKeyCount, kZipfTheta);
  for (int t = 0; t < max_threads; ++t) w->key_streams.push_back(MakeKeyStream(zipf, kKeySeed + t));
  for (size_t m = 0; m < config.mixes.size(); ++m) {
    w->write_flags.emplace_back();
    for (int t = 0; t < max_threads; ++t) {
      w->write_flags.back().push_back(
          MakeWriteFlags(config.mixes[m].read_percent, kWriteSeed + 64 * m + t));
    }
  }
}

}  // namespace

ThroughputRow MeasureThroughput(Peer& peer, const std::string& system, const std::string& workload,
                                std::span<const OpStream> streams, double seconds, int reps,
                                std::span<const int> cpus, const TscCalibration& tsc,
                                uint64_t* checksum) {
  std::vector<double> rates;
  LatencyHistogram latency;
  ThroughputRow row;
  row.system = system;
  row.workload = workload;
  row.threads = static_cast<int>(streams.size());
  row.reps = reps;
  row.latency_unit = std::string(peer.LatencyUnit());
  for (int rep = 0; rep < reps; ++rep) {
    RunResult r = RunTimed(peer, streams, cpus, seconds);
    for (int attempt = 1; attempt < kAttemptsPerRep && r.foreign_cpu > kNoisyForeignShare;
         ++attempt) {
      RunResult retry = RunTimed(peer, streams, cpus, seconds);
      if (retry.foreign_cpu < r.foreign_cpu) std::swap(r, retry);
      *checksum += retry.checksum;  // the discarded attempt's reads
    }
    row.foreign_cpu_max = std::max(row.foreign_cpu_max, r.foreign_cpu);
    if (r.foreign_cpu > kNoisyForeignShare) ++row.noisy_reps;
    rates.push_back(r.ops_per_sec());
    latency.Merge(r.latency);
    row.failed_ops += r.failed_ops;
    *checksum += r.checksum;
  }
  SetRates(std::move(rates), &row);
  if (latency.count() > 0) {
    row.p50_ns = tsc.ToNanos(latency.Percentile(0.50));
    row.p99_ns = tsc.ToNanos(latency.Percentile(0.99));
  }
  return row;
}

void PrintThroughputRow(const ThroughputRow& row) {
  std::printf("  %-16s %-6s x%d  %8.3f Mops/s  [%.3f .. %.3f]  p50 %.0f ns  p99 %.0f ns%s\n",
              row.system.c_str(), row.workload.c_str(), row.threads, row.ops_per_sec / 1e6,
              row.ops_per_sec_min / 1e6, row.ops_per_sec_max / 1e6, row.p50_ns.value_or(0),
              row.p99_ns.value_or(0), row.latency_unit == "op" ? "" : " (per batch)");
  if (row.noisy_reps != 0) {
    std::printf("  noisy: other processes took up to %.0f%% of the CPUs in %d of %d runs\n",
                row.foreign_cpu_max * 100, row.noisy_reps, row.reps);
  }
  if (row.failed_ops != 0) {
    std::printf("  warning: %llu ops failed (missing keys or refused writes)\n",
                static_cast<unsigned long long>(row.failed_ops));
  }
  std::fflush(stdout);
}

std::vector<ThroughputRow> RunThroughputSuite(const ThroughputConfig& config,
                                              const TscCalibration& tsc) {
  const std::vector<int> cpus = AllowedCpus();
  std::printf("preparing %zu keys and scrambled Zipf(%.2f) streams of %zu ops per thread\n",
              kKeyCount, kZipfTheta, kStreamLength);
  std::fflush(stdout);
  Workload workload;
  Prepare(config, &workload);

  std::vector<ThroughputRow> rows;
  uint64_t checksum = 0;
  for (const std::string& system : config.systems) {
    const PeerFactory* factory = FindPeer(system);
    if (factory == nullptr) throw std::invalid_argument("unknown system '" + system + "'");
    std::string why;
    std::unique_ptr<Peer> peer = factory->make(&why);
    if (peer == nullptr) {
      std::printf("skipping %s: %s\n", system.c_str(), why.c_str());
      continue;
    }
    const Clock::time_point fill_start = Clock::now();
    peer->Fill(workload.keys);
    const double fill_seconds = std::chrono::duration<double>(Clock::now() - fill_start).count();
    const uint64_t entries = peer->EntryCount();
    std::printf("%s: filled %llu entries in %.2f s\n", system.c_str(),
                static_cast<unsigned long long>(entries), fill_seconds);
    if (entries != kKeyCount) {
      std::printf("  warning: %s holds %llu entries, expected %zu\n", system.c_str(),
                  static_cast<unsigned long long>(entries), kKeyCount);
    }
    for (size_t m = 0; m < config.mixes.size(); ++m) {
      const Mix& mix = config.mixes[m];
      if (!peer->Supports(mix)) continue;
      for (int threads : config.thread_counts) {
        std::vector<OpStream> streams;
        for (int t = 0; t < threads; ++t) {
          streams.push_back({workload.key_streams[t], workload.write_flags[m][t]});
        }
        rows.push_back(MeasureThroughput(*peer, system, mix.name, streams, config.seconds,
                                         config.reps, cpus, tsc, &checksum));
        PrintThroughputRow(rows.back());
      }
    }
  }
  // Printing the folded value bytes keeps every read's copy observable.
  std::printf("read checksum %016llx\n", static_cast<unsigned long long>(checksum));
  return rows;
}

}  // namespace larder::bench
