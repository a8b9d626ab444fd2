// Mixed operations from many threads: invariants hold and TSan finds no race.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "larder/cache.h"

namespace larder {
namespace {

constexpr int kKeys = 3000;
constexpr size_t kMaxEntries = 1024;

std::string Key(int i) { return "key:" + std::to_string(i); }
// Every value starts with its key, so a reader can tell a torn or misplaced value.
std::string ValueFor(const std::string& key, uint64_t version) {
  return key + "|" + std::to_string(version) + std::string(version % 64, '.');
}
bool Consistent(std::string_view key, std::string_view value) {
  return value.size() > key.size() && value.substr(0, key.size()) == key &&
         value[key.size()] == '|';
}

}  // namespace

TEST_CASE("stress: concurrent mixed operations keep the cache consistent") {
  CacheOptions o;
  o.num_shards = 8;
  o.max_entries = kMaxEntries;
  o.default_ttl = std::chrono::milliseconds(50);
  o.maintenance_interval = std::chrono::milliseconds(1);
  auto opened = Cache::Open(o);
  REQUIRE(opened.ok());
  Cache& cache = **opened;

  std::atomic<uint64_t> set_events{0};
  Subscription counting = cache.Subscribe([&](const CacheEvent&) { set_events.fetch_add(1); },
                                          EventBit(EventType::kSet));

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bad_values{0}, bound_violations{0}, ops{0};
  const int threads = 6;
  const int ops_per_thread = 20000;

  auto worker = [&](int seed) {
    std::mt19937 rng(seed);
    for (int i = 0; i < ops_per_thread; ++i) {
      const std::string key = Key(static_cast<int>(rng() % kKeys));
      switch (rng() % 10) {
        case 0:
        case 1:
        case 2: {
          ValueHandle h = cache.Get(key);
          if (h && !Consistent(key, h.value())) bad_values.fetch_add(1);
          break;
        }
        case 3: {
          const bool sliding = rng() % 4 == 0;
          Status s =
              cache.Set(key, ValueFor(key, rng()),
                        {.ttl = std::chrono::milliseconds(1 + rng() % 40), .sliding = sliding});
          if (!s.ok()) bad_values.fetch_add(1);
          break;
        }
        case 4: {
          // A handle stays intact while the same key is overwritten and deleted.
          ValueHandle h = cache.Get(key);
          const std::string before = h ? std::string(h.value()) : std::string();
          (void)cache.Set(key, ValueFor(key, rng()));
          (void)cache.Delete(key);
          if (h && h.value() != before) bad_values.fetch_add(1);
          break;
        }
        case 5: {
          auto r = cache.GetOrSet(key, [&]() -> Result<std::string> { return ValueFor(key, 7); });
          if (!r.ok() || !Consistent(key, *r)) bad_values.fetch_add(1);
          break;
        }
        case 6: {
          auto r = cache.GetWithStale(
              key, [key]() -> Result<std::string> { return ValueFor(key, 9); },
              std::chrono::milliseconds(5), std::chrono::milliseconds(30));
          if (!r.ok() || !Consistent(key, *r)) bad_values.fetch_add(1);
          break;
        }
        case 7:
          (void)cache.Exists(key);
          (void)cache.Ttl(key);
          break;
        case 8: {
          std::string v;
          if (cache.Get(key, &v) && !Consistent(key, v)) bad_values.fetch_add(1);
          break;
        }
        case 9:
          if (rng() % 50 == 0) {
            cache.RunPendingMaintenance();
          } else {
            (void)cache.Delete(key);
          }
          break;
      }
      ops.fetch_add(1, std::memory_order_relaxed);
    }
  };

  std::thread observer([&] {
    while (!stop.load()) {
      if (cache.Size() > kMaxEntries) bound_violations.fetch_add(1);
      const CacheStats st = cache.GetStats();
      if (st.entries > kMaxEntries) bound_violations.fetch_add(1);
      // Subscriptions come and go while events are being delivered.
      Subscription s = cache.Subscribe([](const CacheEvent&) {});
      std::this_thread::yield();
    }
  });

  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker, 1000 + t);
  for (auto& t : pool) t.join();
  stop.store(true);
  observer.join();

  CHECK(bad_values.load() == 0);
  CHECK(bound_violations.load() == 0);
  CHECK(ops.load() == uint64_t{threads} * ops_per_thread);
  CHECK(set_events.load() > 0);

  cache.RunPendingMaintenance();
  const CacheStats st = cache.GetStats();
  CHECK(st.entries == cache.Size());
  CHECK(st.entries <= kMaxEntries);
  for (int i = 0; i < kKeys; ++i) {
    const std::string key = Key(i);
    ValueHandle h = cache.Get(key);
    if (h) CHECK(Consistent(key, h.value()));
  }
}

}  // namespace larder
