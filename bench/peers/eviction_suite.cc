// The eviction suite: inserts of new keys into full caches.
#include "eviction_suite.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/slice.h>

#include "cpu_meter.h"
#include "larder/cache.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kBytes = 16;

// Key i of thread t: distinct across threads and repetitions.
struct KeyMaker {
  char bytes[kBytes];
  explicit KeyMaker(uint64_t t) {
    std::memset(bytes, 0, sizeof bytes);
    std::memcpy(bytes + 8, &t, 8);
  }
  std::string_view Make(uint64_t i) {
    std::memcpy(bytes, &i, 8);
    return {bytes, kBytes};
  }
};

// One system: Insert(thread, i) inserts key i of thread `thread`; thread-safe.
class Target {
 public:
  virtual ~Target() = default;
  virtual bool Insert(std::string_view key) = 0;
  virtual uint64_t Size() = 0;
};

class LarderTarget final : public Target {
 public:
  LarderTarget(EvictionPolicyKind policy, uint64_t capacity) {
    CacheOptions o;
    o.policy = policy;
    o.max_entries = capacity;
    Result<std::unique_ptr<Cache>> c = Cache::Open(std::move(o));
    if (!c.ok()) throw std::runtime_error(c.status().ToString());
    cache_ = std::move(*c);
  }
  bool Insert(std::string_view key) override {
    static constexpr char kValue[kBytes + 1] = "value-of-16-byte";
    return cache_->Set(key, std::string_view(kValue, kBytes)).ok();
  }
  uint64_t Size() override { return cache_->GetStats().entries; }

 private:
  std::unique_ptr<Cache> cache_;
};

class RocksdbTarget final : public Target {
 public:
  explicit RocksdbTarget(uint64_t capacity) {
    rocksdb::LRUCacheOptions o;
    o.capacity = capacity * 2 * kBytes;
    o.num_shard_bits = 6;
    o.strict_capacity_limit = false;
    o.high_pri_pool_ratio = 0.0;
    o.metadata_charge_policy = rocksdb::kDontChargeCacheMetadata;  // capacity counts entries
    cache_ = rocksdb::NewLRUCache(o);
  }
  bool Insert(std::string_view key) override {
    auto* value = new std::array<char, kBytes>{};
    return cache_
        ->Insert(rocksdb::Slice(key.data(), key.size()), value, 2 * kBytes,
                 [](const rocksdb::Slice&, void* v) {
                   delete static_cast<std::array<char, kBytes>*>(v);
                 })
        .ok();
  }
  uint64_t Size() override { return cache_->GetUsage() / (2 * kBytes); }

 private:
  std::shared_ptr<rocksdb::Cache> cache_;
};

struct System {
  const char* name;
  std::function<std::unique_ptr<Target>(uint64_t)> make;
};

ThroughputRow RunCell(const System& system, Target* target, int threads,
                      const EvictionConfig& config, uint64_t* next_base) {
  ThroughputRow row;
  row.system = system.name;
  row.workload = "insert_new";
  row.threads = threads;
  row.reps = config.reps;
  std::vector<double> rates;
  for (int rep = 0; rep < config.reps; ++rep) {
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> total{0}, failed{0};
    const ForeignCpuMeter meter({});
    const Clock::time_point start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t, base = *next_base + uint64_t(t) * (uint64_t{1} << 40)] {
        KeyMaker keys(static_cast<uint64_t>(t) + 1);
        uint64_t i = base, bad = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          for (int k = 0; k < 256; ++k) bad += !target->Insert(keys.Make(i++));
        }
        total += i - base;
        failed += bad;
      });
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(config.seconds));
    stop = true;
    for (std::thread& w : workers) w.join();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    *next_base += uint64_t{1} << 44;  // fresh keys for the next repetition
    const double foreign = meter.ForeignShare();
    row.foreign_cpu_max = std::max(row.foreign_cpu_max, foreign);
    if (foreign > kNoisyForeignShare) ++row.noisy_reps;
    row.failed_ops += failed;
    rates.push_back(static_cast<double>(total) / seconds);
  }
  SetRates(std::move(rates), &row);
  std::printf("  %-16s %d threads %8.3f M inserts/s  [%.3f .. %.3f]\n", system.name, threads,
              row.ops_per_sec / 1e6, row.ops_per_sec_min / 1e6, row.ops_per_sec_max / 1e6);
  std::fflush(stdout);
  return row;
}

}  // namespace

void RunEvictionSuite(const EvictionConfig& config, Results* results) {
  std::printf("eviction: %llu entries, then inserts of new keys (each one evicts)\n",
              static_cast<unsigned long long>(config.capacity));
  const System systems[] = {
      {"larder", [](uint64_t c) { return std::make_unique<LarderTarget>(EvictionPolicyKind::kWTinyLfu, c); }},
      {"larder_lru", [](uint64_t c) { return std::make_unique<LarderTarget>(EvictionPolicyKind::kLru, c); }},
      {"larder_s3fifo", [](uint64_t c) { return std::make_unique<LarderTarget>(EvictionPolicyKind::kS3Fifo, c); }},
      {"rocksdb_lru", [](uint64_t c) { return std::make_unique<RocksdbTarget>(c); }},
  };
  for (const System& s : systems) {
    std::unique_ptr<Target> target = s.make(config.capacity);
    KeyMaker fill(0);
    for (uint64_t i = 0; i < config.capacity; ++i) target->Insert(fill.Make(i));
    const uint64_t size = target->Size();
    if (size + config.capacity / 100 < config.capacity) {
      throw std::runtime_error(fmt::format("eviction suite: {} holds {} of {} entries after the "
                                           "fill", s.name, size, config.capacity));
    }
    uint64_t base = 0;
    for (int threads : config.thread_counts) {
      results->eviction.push_back(RunCell(s, target.get(), threads, config, &base));
    }
  }
}

}  // namespace larder::bench
