// The coordination suite: rate-limit and lock cells against one throwaway redis-server, then the
// propagation cells (propagation.cc) against the same server.
#include "coordination_suite.h"

#include <sched.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cpu_meter.h"
#include "histogram.h"
#include "larder/cache.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "larder/redis_l2.h"
#include "propagation.h"
#include "redis_client.h"
#include "redis_server.h"
#include "runner.h"
#include "workload.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

// Admitted cells: a limit no run reaches, and a window short enough to roll over during a run
// (each key's window is opened, filled and expired again, as under real traffic).
constexpr uint64_t kHighLimit = 1'000'000'000;
constexpr std::chrono::seconds kWindow{1};
constexpr char kWindowMillis[] = "1000";  // kWindow for the hand-rolled commands
// Refused cells: a limit of 1 with a window longer than the run, so every timed check of a key
// comes after the one the warm-up admitted.
constexpr std::chrono::seconds kLongWindow{600};
constexpr std::chrono::seconds kLockTtl{10};
constexpr char kLockTtlMillis[] = "10000";
// One op in this many is timed on its own for the p50/p99 columns: two clock reads on every op
// would show in the in-process cells, whose ops take about 100 ns.
constexpr uint64_t kSampleEvery = 32;
// Ops between looks at the clock.
constexpr uint64_t kChunk = 64;
constexpr std::chrono::milliseconds kWarmup{200};

// While alive, this thread and the server's main thread share one CPU, so that a round trip is
// a switch between two busy processes. Unpinned, each hand-off on this VM may wake a halted
// vCPU (cpuidle haltpoll without polling): every Redis cell then measures 60-100 us of
// wake-ups per round trip and they all look alike (a run measured 10-12k checks/s for larder
// and the hand-rolled commands alike). Pinned, the cells compare CPU work: client, loopback,
// server.
class SharedCpu {
 public:
  explicit SharedCpu(pid_t server) : server_(server) {
    CPU_ZERO(&self_before_);
    CPU_ZERO(&server_before_);
    saved_ = sched_getaffinity(0, sizeof(self_before_), &self_before_) == 0 &&
             sched_getaffinity(server_, sizeof(server_before_), &server_before_) == 0;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(AllowedCpus().back(), &one);
    const bool pinned = saved_ && sched_setaffinity(0, sizeof(one), &one) == 0 &&
                        sched_setaffinity(server_, sizeof(one), &one) == 0;
    if (!pinned) std::printf("  note: could not pin to one CPU; round trips include wake-ups\n");
  }
  SharedCpu(const SharedCpu&) = delete;
  SharedCpu& operator=(const SharedCpu&) = delete;
  ~SharedCpu() {
    if (!saved_) return;
    // Best effort: a failure leaves the thread or the server pinned, which is harmless.
    (void)sched_setaffinity(0, sizeof(self_before_), &self_before_);
    (void)sched_setaffinity(server_, sizeof(server_before_), &server_before_);
  }

 private:
  pid_t server_;
  cpu_set_t self_before_;
  cpu_set_t server_before_;
  bool saved_ = false;
};

// Performs op number `i` (its key is number i % keys) and says whether the answer was the
// expected one (admitted or refused, lock taken and released).
using Op = std::function<bool(uint64_t i)>;

uint64_t Nanos(Clock::duration d) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

ThroughputRow Measure(const char* system, const char* workload, const CoordinationConfig& config,
                      pid_t server, const Op& op) {
  ThroughputRow row;
  row.system = system;
  row.workload = workload;
  row.threads = 1;
  row.reps = config.reps;
  row.latency_unit = "op";
  uint64_t i = 0;
  // Connections opened, scripts loaded, every key used once (a refused cell's single
  // admitted request per key happens here).
  const Clock::time_point warm_until = Clock::now() + kWarmup;
  while (i < config.keys || Clock::now() < warm_until) (void)op(i++);
  const auto run_for =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(config.seconds));
  std::vector<double> rates;
  LatencyHistogram latency;  // ns
  for (int rep = 0; rep < config.reps; ++rep) {
    const ForeignCpuMeter meter({server});
    const Clock::time_point start = Clock::now();
    const Clock::time_point stop = start + run_for;
    uint64_t n = 0;
    Clock::time_point now;
    do {
      for (uint64_t j = 0; j < kChunk; ++j, ++i, ++n) {
        bool ok;
        if (n % kSampleEvery == 0) {
          const Clock::time_point t0 = Clock::now();
          ok = op(i);
          latency.Record(Nanos(Clock::now() - t0));
        } else {
          ok = op(i);
        }
        row.failed_ops += ok ? 0 : 1;
      }
      now = Clock::now();
    } while (now < stop);
    rates.push_back(static_cast<double>(n) / std::chrono::duration<double>(now - start).count());
    const double foreign = meter.ForeignShare();
    row.foreign_cpu_max = std::max(row.foreign_cpu_max, foreign);
    if (foreign > kNoisyForeignShare) ++row.noisy_reps;
  }
  SetRates(std::move(rates), &row);
  row.p50_ns = static_cast<double>(latency.Percentile(0.50));
  row.p99_ns = static_cast<double>(latency.Percentile(0.99));
  std::printf("  %-14s %-18s %11.0f ops/s [%.0f-%.0f]  p50 %.1f us  p99 %.1f us%s\n", system,
              workload, row.ops_per_sec, row.ops_per_sec_min, row.ops_per_sec_max,
              *row.p50_ns / 1e3, *row.p99_ns / 1e3, row.noisy_reps > 0 ? "  (noisy)" : "");
  if (row.failed_ops != 0) {
    std::printf("  warning: %llu unexpected answers\n",
                static_cast<unsigned long long>(row.failed_ops));
  }
  std::fflush(stdout);
  return row;
}

std::vector<std::string> Keys(const CoordinationConfig& config, std::string_view prefix) {
  std::vector<std::string> keys;
  for (uint64_t k = 0; k < config.keys; ++k) keys.push_back(fmt::format("{}{}", prefix, k));
  return keys;
}

template <typename T>
std::unique_ptr<T> Check(Result<std::unique_ptr<T>> r) {
  if (!r.ok()) throw std::runtime_error(r.status().ToString());
  return std::move(*r);
}

// A hand-rolled fixed window: INCR, and PEXPIRE NX to start the window at the first request,
// in one MULTI round trip.
bool FixedMulti(RedisClient& c, const std::string& key) {
  c.Append({"MULTI"});
  c.Append({"INCR", key});
  c.Append({"PEXPIRE", key, kWindowMillis, "NX"});
  c.Append({"EXEC"});
  for (int queued = 0; queued < 3; ++queued) (void)c.Reply();
  ReplyPtr exec = c.Reply();
  return exec->type == REDIS_REPLY_ARRAY && exec->elements == 2 &&
         exec->element[0]->type == REDIS_REPLY_INTEGER &&
         static_cast<uint64_t>(exec->element[0]->integer) <= kHighLimit;
}

// A hand-rolled sliding window (the common sorted-set recipe): drop what left the window, add
// this request, count, refresh the expiry, in one MULTI round trip; the client's clock.
bool SlidingMulti(RedisClient& c, const std::string& key, uint64_t seq) {
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  const int64_t window_us = std::chrono::duration_cast<std::chrono::microseconds>(kWindow).count();
  const std::string now = std::to_string(now_us);
  const std::string oldest = std::to_string(now_us - window_us);
  const std::string member = fmt::format("{}:{}", now_us, seq);
  c.Append({"MULTI"});
  c.Append({"ZREMRANGEBYSCORE", key, "-inf", oldest});
  c.Append({"ZADD", key, now, member});
  c.Append({"ZCARD", key});
  c.Append({"PEXPIRE", key, kWindowMillis});
  c.Append({"EXEC"});
  for (int queued = 0; queued < 5; ++queued) (void)c.Reply();
  ReplyPtr exec = c.Reply();
  return exec->type == REDIS_REPLY_ARRAY && exec->elements == 4 &&
         exec->element[2]->type == REDIS_REPLY_INTEGER &&
         static_cast<uint64_t>(exec->element[2]->integer) <= kHighLimit;
}

void RateLimitCells(const CoordinationConfig& config, const RedisServer& server, Results* results) {
  RedisOptions redis;
  redis.port = static_cast<uint16_t>(server.port());
  const std::vector<std::string> admitted = Keys(config, "admitted:");
  const std::vector<std::string> refused = Keys(config, "refused:");
  const size_t k = admitted.size();
  std::vector<ThroughputRow>& rows = results->coordination;
  for (const RateLimitMode mode : {RateLimitMode::kFixedWindow, RateLimitMode::kSlidingWindow}) {
    const bool fixed = mode == RateLimitMode::kFixedWindow;
    const char* workload = fixed ? "rl_fixed" : "rl_sliding";
    const char* workload_refused = fixed ? "rl_fixed_refused" : "rl_sliding_refused";
    const std::vector<std::string> plain = Keys(config, fixed ? "plain:f:" : "plain:s:");
    std::unique_ptr<RateLimiter> remote = Check(NewRedisRateLimiter(mode, redis));
    std::unique_ptr<RateLimiter> local = NewLocalRateLimiter(mode);
    const auto admit = [&](RateLimiter* limiter) {
      return [limiter, &admitted, k](uint64_t i) {
        Result<RateLimitResult> r = limiter->CheckRateLimit(admitted[i % k], kHighLimit, kWindow);
        return r.ok() && r->allowed;
      };
    };
    const auto refuse = [&](RateLimiter* limiter) {
      return [limiter, &refused, k](uint64_t i) {
        Result<RateLimitResult> r = limiter->CheckRateLimit(refused[i % k], 1, kLongWindow);
        return r.ok() && !r->allowed;
      };
    };
    rows.push_back(Measure("larder_redis", workload, config, server.pid(), admit(remote.get())));
    RedisClient client(server.port());
    rows.push_back(Measure("redis_multi", workload, config, server.pid(), [&](uint64_t i) {
      return fixed ? FixedMulti(client, plain[i % k]) : SlidingMulti(client, plain[i % k], i);
    }));
    rows.push_back(Measure("larder_local", workload, config, server.pid(), admit(local.get())));
    rows.push_back(
        Measure("larder_redis", workload_refused, config, server.pid(), refuse(remote.get())));
    rows.push_back(
        Measure("larder_local", workload_refused, config, server.pid(), refuse(local.get())));
  }
}

void LockCells(const CoordinationConfig& config, const RedisServer& server, Results* results) {
  RedisOptions redis;
  redis.port = static_cast<uint16_t>(server.port());
  const std::vector<std::string> keys = Keys(config, "lock:");
  const std::vector<std::string> plain = Keys(config, "plain:lock:");
  const size_t k = keys.size();
  std::vector<ThroughputRow>& rows = results->coordination;
  const auto pair = [&](LockService* locks) {
    return [locks, &keys, k](uint64_t i) {
      Result<std::optional<std::string>> token = locks->AcquireLock(keys[i % k], kLockTtl);
      if (!token.ok() || !token->has_value()) return false;
      Result<bool> released = locks->ReleaseLock(keys[i % k], **token);
      return released.ok() && *released;
    };
  };
  std::unique_ptr<LockService> remote = Check(NewRedisLockService(redis));
  rows.push_back(Measure("larder_redis", "lock", config, server.pid(), pair(remote.get())));

  // Hand-rolled: a counter for a token (no CSPRNG), SET NX PX, then DEL, or the token-checked
  // release a correct lock needs (so that a holder whose lock expired cannot free the next
  // holder's), as a preloaded script.
  RedisClient client(server.port());
  ReplyPtr sha = client.Command(
      {"SCRIPT", "LOAD",
       "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end "
       "return 0"});
  if (sha->type != REDIS_REPLY_STRING) throw std::runtime_error("redis: SCRIPT LOAD failed");
  const std::string release_sha(sha->str, sha->len);
  const auto plain_pair = [&](bool checked) {
    return [&client, &plain, &release_sha, k, checked](uint64_t i) {
      const std::string& key = plain[i % k];
      const std::string token = fmt::format("{:032x}", i);
      ReplyPtr set = client.Command({"SET", key, token, "NX", "PX", kLockTtlMillis});
      if (set->type != REDIS_REPLY_STATUS) return false;
      ReplyPtr del = checked ? client.Command({"EVALSHA", release_sha, "1", key, token})
                             : client.Command({"DEL", key});
      return del->type == REDIS_REPLY_INTEGER && del->integer == 1;
    };
  };
  rows.push_back(Measure("redis_set_del", "lock", config, server.pid(), plain_pair(false)));
  rows.push_back(Measure("redis_set_evalsha", "lock", config, server.pid(), plain_pair(true)));
  std::unique_ptr<LockService> local = NewLocalLockService();
  rows.push_back(Measure("larder_local", "lock", config, server.pid(), pair(local.get())));
}

// kStreamLength key indices drawn uniformly from [0, n). (A scrambled Zipf with theta 0 is
// not uniform: it folds ranks through a hash modulo n, so some keys come up twice as often and
// about a third never.)
std::vector<uint32_t> UniformStream(uint64_t n) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint32_t> pick(0, static_cast<uint32_t>(n - 1));
  std::vector<uint32_t> out(kStreamLength);
  for (uint32_t& k : out) k = pick(rng);
  return out;
}

// A value the size of a small record.
const std::string kL2Value(100, 'v');

std::unique_ptr<Cache> OpenCache(size_t max_entries) {
  CacheOptions o;
  o.max_entries = max_entries;
  o.default_ttl = std::chrono::hours(1);
  return Check(Cache::Open(std::move(o)));
}

// A fetcher that should not run: every value is in Redis before the timed runs.
Result<std::string> Unexpected() { return Status::Internal("the fetcher ran"); }

// RedisL2: a local hit, a hit in Redis, and reads over more keys than the local level holds,
// beside a plain GET of the same value (what every read costs without the local level).
void L2Cells(const CoordinationConfig& config, const RedisServer& server, Results* results) {
  RedisOptions redis;
  redis.port = static_cast<uint16_t>(server.port());
  std::vector<ThroughputRow>& rows = results->coordination;
  const std::vector<std::string> keys = Keys(config, "hot:");
  const size_t k = keys.size();
  const auto ok_value = [](const Result<std::string>& r) { return r.ok() && r->size() == 100; };

  std::unique_ptr<Cache> cache = OpenCache(0);
  std::unique_ptr<RedisL2> l2 = Check(RedisL2::Connect(*cache, redis, {.name = "bench"}));
  for (const std::string& key : keys) {
    if (!l2->Set(key, kL2Value).ok()) throw std::runtime_error("redis l2: Set failed");
  }
  rows.push_back(Measure("larder_l2", "l2_local_hit", config, server.pid(), [&](uint64_t i) {
    return ok_value(l2->GetOrSet(keys[i % k], Unexpected));
  }));
  rows.push_back(Measure("larder_local", "l2_local_hit", config, server.pid(), [&](uint64_t i) {
    const ValueHandle v = cache->Get(keys[i % k]);
    return static_cast<bool>(v) && v.value().size() == 100;
  }));
  rows.push_back(Measure("larder_l2", "l2_redis_hit", config, server.pid(), [&](uint64_t i) {
    {
      RemoteScope remote;  // drops the local copy only: Redis keeps the value
      (void)cache->Delete(keys[i % k]);
    }
    return ok_value(l2->GetOrSet(keys[i % k], Unexpected));
  }));
  const std::string ns = "larder:l2:bench:k:";
  RedisClient client(server.port());
  rows.push_back(Measure("redis_get", "l2_redis_hit", config, server.pid(), [&](uint64_t i) {
    ReplyPtr r = client.Command({"GET", ns + keys[i % k]});
    return r->type == REDIS_REPLY_STRING && r->len == 100;
  }));

  // Ten times more keys than the local level holds, read uniformly or Zipf-skewed.
  CoordinationConfig wide = config;
  wide.keys = config.keys * 100;
  const std::vector<std::string> all = Keys(wide, "wide:");
  std::unique_ptr<Cache> small = OpenCache(all.size() / 10);
  std::unique_ptr<RedisL2> small_l2 = Check(RedisL2::Connect(*small, redis, {.name = "wide"}));
  for (const std::string& key : all) {
    if (!small_l2->Set(key, kL2Value).ok()) throw std::runtime_error("redis l2: Set failed");
  }
  const std::string wide_ns = "larder:l2:wide:k:";
  for (const bool zipf : {false, true}) {
    const std::vector<uint32_t> stream =
        zipf ? MakeKeyStream(ScrambledZipf(all.size(), kZipfTheta), 42) : UniformStream(all.size());
    const size_t n = stream.size();
    const char* workload = zipf ? "l2_zipf_10pct" : "l2_uniform_10pct";
    const auto read = [&](uint64_t i) {
      return ok_value(small_l2->GetOrSet(all[stream[i % n]], Unexpected));
    };
    ThroughputRow row = Measure("larder_l2", workload, wide, server.pid(), read);
    // The local level's share, over reads after the timed runs.
    const RedisL2Stats before = small_l2->GetStats();
    constexpr uint64_t kCounted = 200'000;
    for (uint64_t i = 0; i < kCounted; ++i) (void)read(i * 7919);
    const RedisL2Stats after = small_l2->GetStats();
    const uint64_t remote = (after.hits + after.misses) - (before.hits + before.misses);
    row.local_hit_share = 1.0 - static_cast<double>(remote) / static_cast<double>(kCounted);
    std::printf("  %-14s %-18s local hit share %.1f%%\n", "larder_l2", workload,
                *row.local_hit_share * 100);
    rows.push_back(std::move(row));
    rows.push_back(Measure("redis_get", workload, wide, server.pid(), [&](uint64_t i) {
      ReplyPtr r = client.Command({"GET", wide_ns + all[stream[i % n]]});
      return r->type == REDIS_REPLY_STRING && r->len == 100;
    }));
  }
}

}  // namespace

CoordinationConfig QuickCoordinationConfig() {
  CoordinationConfig c;
  c.reps = 1;
  c.seconds = 0.25;
  c.messages = 300;
  c.warmup_messages = 50;
  return c;
}

void RunCoordinationSuite(const CoordinationConfig& config, Results* results) {
  std::printf("coordination: one thread, %llu keys in rotation, %d runs of %.2f s per cell\n",
              static_cast<unsigned long long>(config.keys), config.reps, config.seconds);
  std::string why;
  std::unique_ptr<RedisServer> server = RedisServer::Start(&why);
  if (server == nullptr) {
    std::printf("  coordination: skipped (%s)\n", why.c_str());
    return;
  }
  {
    const SharedCpu shared(server->pid());
    RateLimitCells(config, *server, results);
    LockCells(config, *server, results);
    L2Cells(config, *server, results);
  }
  // Unpinned: hand-offs between threads and processes are what propagation costs.
  RunPropagationCells(config, server->port(), results);
}

}  // namespace larder::bench
