// The sending side of the propagation cells (A): starts the receiver, sends every path at a steady
// rate, and turns the receiver's arrival times into latency rows.
#include "propagation.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "memory.h"
#include "process.h"
#include "redis_client.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Latency is one-way: A stamps the call, B stamps the arrival, both with steady_clock. On Linux
// that is CLOCK_MONOTONIC, one clock for every process on the machine, so the two stamps are
// directly comparable. A ping-pong halving the round trip would assume the way back costs the
// same as the way there, which it does not here: the way there goes through A's backplane sender
// thread and B's subscriber and dispatcher threads, a reply would not.

// Pause between paths, so one path's last messages are not still in flight during the next.
constexpr std::chrono::milliseconds kPathGap{20};
// How long B may take to come up (open a cache, connect, subscribe).
constexpr std::chrono::seconds kReadyTimeout{30};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// B, run to completion by RunProcess on a thread of its own (it waits for B's exit).
class Receiver {
 public:
  explicit Receiver(std::vector<std::string> argv)
      : thread_([this, argv = std::move(argv)] {
          status_ = RunProcess(argv, &output_);
          exited_.store(true, std::memory_order_release);
        }) {}
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;
  ~Receiver() {
    if (thread_.joinable()) thread_.join();
  }

  bool exited() const { return exited_.load(std::memory_order_acquire); }
  // Waits for B to exit; its exit status, and what it printed in *output.
  int Wait(std::string* output) {
    thread_.join();
    *output = std::move(output_);
    return status_;
  }

 private:
  std::string output_;
  int status_ = -1;
  std::atomic<bool> exited_{false};
  std::thread thread_;  // last: it starts once the fields it writes exist
};

void WaitUntilReady(RedisClient& client, const Receiver& receiver) {
  const Clock::time_point deadline = Clock::now() + kReadyTimeout;
  for (;;) {
    ReplyPtr r = client.Command({"GET", kReadyKey});
    if (r->type == REDIS_REPLY_STRING && std::string_view(r->str, r->len) == "1") return;
    if (receiver.exited()) throw std::runtime_error("the receiver exited before it was ready");
    if (Clock::now() > deadline) throw std::runtime_error("the receiver did not come up");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// A's side: what each path sends for message `seq`.
class Sender {
 public:
  Sender(Cache& cache, PubSub& bus, RedisClient& client)
      : cache_(cache), bus_(bus), client_(client) {}

  // The argument of message `seq`, made before the clock is read.
  static std::string Argument(PropagationPath path, uint64_t seq) {
    switch (path) {
      case PropagationPath::kSet:
        return fmt::format("{}{}", kSetKeyPrefix, seq);
      case PropagationPath::kPattern:
        return fmt::format("{}{}:*", kPatternPrefix, seq);
      case PropagationPath::kPubSub:
      case PropagationPath::kPublish:
        break;
    }
    return std::to_string(seq);
  }

  void Send(PropagationPath path, const std::string& arg) {
    bool ok = true;
    switch (path) {
      case PropagationPath::kSet:
        ok = cache_.Set(arg, "v").ok();
        break;
      case PropagationPath::kPattern:
        ok = cache_.InvalidatePattern(arg).ok();
        break;
      case PropagationPath::kPubSub:
        ok = bus_.Publish(kPubSubChannel, arg).ok();
        break;
      case PropagationPath::kPublish:
        ok = client_.Command({"PUBLISH", kPublishChannel, arg})->type == REDIS_REPLY_INTEGER;
        break;
    }
    if (!ok) throw std::runtime_error("propagation: sending '" + arg + "' failed");
  }

 private:
  Cache& cache_;
  PubSub& bus_;
  RedisClient& client_;
};

using Stamps = std::vector<std::vector<int64_t>>;  // [path][seq] in steady_clock ns, -1: none

// Every path, `reps` rounds of warm-up + timed messages each, paths interleaved per round so
// that a noisy moment of the machine does not fall on one path only.
void SendAll(const CoordinationConfig& config, Sender& sender, Backplane& plane, Stamps* sent) {
  const uint64_t per_rep = config.warmup_messages + config.messages;
  for (int rep = 0; rep < config.reps; ++rep) {
    for (int p = 0; p < kPropagationPaths; ++p) {
      const auto path = static_cast<PropagationPath>(p);
      Clock::time_point next = Clock::now();
      for (uint64_t i = 0; i < per_rep; ++i) {
        const uint64_t seq = static_cast<uint64_t>(rep) * per_rep + i;
        const std::string arg = Sender::Argument(path, seq);
        std::this_thread::sleep_until(next);
        next += config.message_interval;
        (*sent)[p][seq] = NowNs();
        sender.Send(path, arg);
      }
      plane.WaitUntilSent();
      std::this_thread::sleep_for(kPathGap);
    }
  }
}

// B's report: arrival stamps and its backplane counters.
Stamps ParseArrivals(const std::string& output, uint64_t messages,
                     std::map<std::string, double>* stats) {
  Stamps arrived(kPropagationPaths, std::vector<int64_t>(messages, -1));
  size_t at = 0;
  while (at < output.size()) {
    size_t end = output.find('\n', at);
    if (end == std::string::npos) end = output.size();
    const std::string_view line(output.data() + at, end - at);
    at = end + 1;
    if (line.starts_with("stats ")) {
      *stats = ParseFields(line);
      continue;
    }
    // "<path> <seq> <ns>"
    int path = -1;
    uint64_t seq = 0;
    int64_t ns = 0;
    const char* const end_of_line = line.data() + line.size();
    std::from_chars_result r = std::from_chars(line.data(), end_of_line, path);
    const auto next = [&](auto* value) {
      if (r.ec != std::errc() || r.ptr == end_of_line || *r.ptr != ' ') {
        r.ec = std::errc::invalid_argument;
        return;
      }
      r = std::from_chars(r.ptr + 1, end_of_line, *value);
    };
    next(&seq);
    next(&ns);
    if (r.ec != std::errc() || path < 0 || path >= kPropagationPaths || seq >= messages) continue;
    arrived[path][seq] = ns;
  }
  return arrived;
}

// Nearest rank: the smallest value with at least q of the values at or below it.
double Percentile(const std::vector<double>& sorted, double q) {
  const size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  return sorted[std::max<size_t>(rank, 1) - 1];
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

LatencyRow Summarize(const CoordinationConfig& config, PropagationPath path, const Stamps& sent,
                     const Stamps& arrived) {
  // By PropagationPath.
  static constexpr std::array<const char*, kPropagationPaths> kSystem = {
      "larder_backplane", "larder_backplane", "larder_pubsub", "redis_pubsub"};
  static constexpr std::array<const char*, kPropagationPaths> kWorkload = {"set", "pattern",
                                                                           "publish", "publish"};
  const int p = static_cast<int>(path);
  LatencyRow row;
  row.system = kSystem[p];
  row.workload = kWorkload[p];
  row.reps = config.reps;
  row.interval_us = std::chrono::duration<double, std::micro>(config.message_interval).count();
  row.warmup = config.warmup_messages;
  std::vector<double> p50s;
  std::vector<double> p99s;
  const uint64_t per_rep = config.warmup_messages + config.messages;
  for (int rep = 0; rep < config.reps; ++rep) {
    std::vector<double> us;
    for (uint64_t i = config.warmup_messages; i < per_rep; ++i) {
      const uint64_t seq = static_cast<uint64_t>(rep) * per_rep + i;
      if (arrived[p][seq] < 0) {
        ++row.lost;
        continue;
      }
      us.push_back(static_cast<double>(arrived[p][seq] - sent[p][seq]) / 1e3);
    }
    if (us.empty()) continue;
    std::sort(us.begin(), us.end());
    row.samples += us.size();
    p50s.push_back(Percentile(us, 0.50));
    p99s.push_back(Percentile(us, 0.99));
    row.max_us = std::max(row.max_us, us.back());
  }
  if (p50s.empty()) return row;
  row.p50_us = Median(p50s);
  row.p50_us_min = *std::min_element(p50s.begin(), p50s.end());
  row.p50_us_max = *std::max_element(p50s.begin(), p50s.end());
  row.p99_us = Median(p99s);
  row.p99_us_min = *std::min_element(p99s.begin(), p99s.end());
  row.p99_us_max = *std::max_element(p99s.begin(), p99s.end());
  std::printf(
      "  %-16s %-8s p50 %6.0f us [%.0f-%.0f]  p99 %6.0f us [%.0f-%.0f]  max %.0f us"
      "  (%llu timed, %llu lost)\n",
      row.system.c_str(), row.workload.c_str(), row.p50_us, row.p50_us_min, row.p50_us_max,
      row.p99_us, row.p99_us_min, row.p99_us_max, row.max_us,
      static_cast<unsigned long long>(row.samples), static_cast<unsigned long long>(row.lost));
  return row;
}

// Opens A's cache and backplane, waits for B, sends everything, tells B so and waits for its
// report. Returns B's exit status.
int SendAndWait(const CoordinationConfig& config, int port, RedisClient& client, Receiver& receiver,
                Stamps* sent, std::string* output) {
  CacheOptions cache_options;
  cache_options.prefix_index = true;  // as B's: a pattern visits only its own prefix
  cache_options.expected_entries = sent->front().size();
  Result<std::unique_ptr<Cache>> cache = Cache::Open(std::move(cache_options));
  if (!cache.ok()) throw std::runtime_error(cache.status().ToString());
  RedisOptions redis;
  redis.port = static_cast<uint16_t>(port);
  Result<std::unique_ptr<Backplane>> plane =
      Backplane::Connect(**cache, redis, BackplaneOptions{.name = kBackplaneName});
  if (!plane.ok()) throw std::runtime_error(plane.status().ToString());
  Result<std::unique_ptr<PubSub>> bus = NewRedisPubSub(redis);
  if (!bus.ok()) throw std::runtime_error(bus.status().ToString());
  Sender sender(**cache, **bus, client);
  WaitUntilReady(client, receiver);
  SendAll(config, sender, **plane, sent);
  client.Command({"PUBLISH", kControlChannel, "done"});
  return receiver.Wait(output);
}

}  // namespace

void RunPropagationCells(const CoordinationConfig& config, int port, Results* results) {
  const uint64_t per_rep = config.warmup_messages + config.messages;
  const uint64_t total = static_cast<uint64_t>(config.reps) * per_rep;
  const double send_seconds =
      static_cast<double>(kPropagationPaths * total) *
          std::chrono::duration<double>(config.message_interval).count() +
      kPropagationPaths * config.reps * std::chrono::duration<double>(kPathGap).count();
  std::printf(
      "propagation: %llu messages per path and run after %llu untimed, one per %lld us, "
      "to a second process\n",
      static_cast<unsigned long long>(config.messages),
      static_cast<unsigned long long>(config.warmup_messages),
      static_cast<long long>(config.message_interval.count()));
  std::fflush(stdout);

  RedisClient client(port);  // first: it must be able to tell B to stop
  Receiver receiver({SelfExecutable(), "--propagation-child",
                     fmt::format("port={} messages={} deadline_s={}", port, total,
                                 static_cast<int64_t>(60 + 2 * send_seconds))});
  Stamps sent(kPropagationPaths, std::vector<int64_t>(total, -1));
  std::string output;
  int status = 0;
  try {
    status = SendAndWait(config, port, client, receiver, &sent, &output);
  } catch (...) {
    try {
      client.Command({"PUBLISH", kControlChannel, "done"});
    } catch (...) {  // B gives up at its deadline instead
    }
    throw;  // ~Receiver waits for B
  }
  if (status != 0) {
    throw std::runtime_error(fmt::format("propagation: the receiver failed (exit {})", status));
  }
  std::map<std::string, double> stats;
  const Stamps arrived = ParseArrivals(output, total, &stats);
  for (int p = 0; p < kPropagationPaths; ++p) {
    results->propagation.push_back(
        Summarize(config, static_cast<PropagationPath>(p), sent, arrived));
  }
  if (stats["gaps"] != 0 || stats["resyncs"] != 0 || stats["disconnects"] != 0) {
    std::printf("  warning: the receiver saw %.0f gaps, %.0f resyncs, %.0f disconnects\n",
                stats["gaps"], stats["resyncs"], stats["disconnects"]);
  }
  std::fflush(stdout);
}

}  // namespace larder::bench
