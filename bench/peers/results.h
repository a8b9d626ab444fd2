// The rows the suites produce; report.cc turns them into tables, JSON and a plot.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace larder::bench {

// One (system, workload, threads) cell: the median of its repetitions and their spread.
struct ThroughputRow {
  std::string system;
  std::string workload;  // a mix name, "95/5"
  int threads = 0;
  int reps = 0;
  double ops_per_sec = 0;  // median
  double ops_per_sec_min = 0;
  double ops_per_sec_max = 0;
  std::optional<double> p50_ns;  // over the latency samples of every repetition
  std::optional<double> p99_ns;
  std::string latency_unit;  // "op", or what one sample times (redis: a pipelined batch)
  uint64_t failed_ops = 0;   // reads that missed or writes refused; 0 in a sound run
  // The largest share of CPU time other processes took during a kept repetition, and how many
  // kept repetitions were above kNoisyForeignShare even after their retries.
  double foreign_cpu_max = 0;
  int noisy_reps = 0;
  // Two-level cells (RedisL2): the share of reads the local level answered.
  std::optional<double> local_hit_share;
};

// Sets row->ops_per_sec to the median of `rates` (ops per second of each repetition) and the
// min and max beside it. REQUIRES: rates is not empty.
inline void SetRates(std::vector<double> rates, ThroughputRow* row) {
  std::sort(rates.begin(), rates.end());
  const size_t n = rates.size();
  row->ops_per_sec = n % 2 == 1 ? rates[n / 2] : (rates[n / 2 - 1] + rates[n / 2]) / 2;
  row->ops_per_sec_min = rates.front();
  row->ops_per_sec_max = rates.back();
}

// A repetition during which other processes took more than this share of all CPUs' time is
// noisy: it is retried, and flagged if it stays noisy.
inline constexpr double kNoisyForeignShare = 0.10;

// One system's memory overhead after the fill, measured in a fresh process.
struct MemoryRow {
  std::string system;
  uint64_t entries = 0;         // entries the system holds after the fill
  double bytes_per_entry = 0;   // growth per entry beyond the 32 bytes of key and value
  double fill_ops_per_sec = 0;  // single-threaded fill rate
  std::string source;           // "rss", or "redis used_memory" for the server
};

// A one-way latency between two processes (the coordination suite's propagation rows): each
// repetition's percentiles over its messages, then the median and range of those across reps.
struct LatencyRow {
  std::string system;    // "larder_backplane", "larder_pubsub" or "redis_pubsub"
  std::string workload;  // what travelled: "set", "pattern" or "publish"
  int reps = 0;
  uint64_t samples = 0;  // messages timed, all repetitions (warm-up excluded)
  uint64_t lost = 0;     // timed messages the receiver never reported; 0 in a sound run
  double p50_us = 0;     // median over the repetitions of each one's p50
  double p50_us_min = 0;
  double p50_us_max = 0;
  double p99_us = 0;  // likewise for p99
  double p99_us_min = 0;
  double p99_us_max = 0;
  double max_us = 0;  // the slowest message of every repetition
  // How the messages were sent: one every interval_us, the first `warmup` of each run untimed.
  double interval_us = 0;
  uint64_t warmup = 0;
};

struct Results {
  std::vector<ThroughputRow> throughput;
  std::vector<MemoryRow> memory;
  // The record suite: lookups (ops = lookups) and bulk work (ops = records), and the memory a
  // cached record costs beyond its field bytes.
  std::vector<ThroughputRow> record;
  std::vector<MemoryRow> record_memory;
  // The snapshot suite: save and load rates (ops = entries) and bytes per entry on disk.
  std::vector<ThroughputRow> snapshot;
  std::vector<MemoryRow> snapshot_size;
  // The eviction suite: inserts of new keys into full caches (ops = inserts).
  std::vector<ThroughputRow> eviction;
  // The invalidation suite (ops = keys removed, or written, per second; one thread).
  std::vector<ThroughputRow> invalidation;
  // The coordination suite: rate-limit checks and lock acquire+release pairs (ops = checks or
  // pairs per second, one thread), and invalidation propagation between two processes.
  std::vector<ThroughputRow> coordination;
  std::vector<LatencyRow> propagation;
};

}  // namespace larder::bench
