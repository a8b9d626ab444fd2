// cache_bench: single-thread costs of larder::Cache's basic calls on 100k 16-byte entries.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "larder/cache.h"

namespace {

constexpr size_t kEntries = 100'000;
constexpr size_t kKeySize = 16;
// Lookups cycle through this many precomputed random key indices.
constexpr size_t kOrderLength = size_t{1} << 16;

std::string KeyOf(size_t i, char prefix) {
  std::string key(kKeySize, '0');
  key[0] = prefix;
  std::snprintf(key.data() + 1, kKeySize, "%015zu", i);
  key.resize(kKeySize);  // drop the terminator snprintf wrote in place
  return key;
}

// A cache filled with kEntries keys "k…" (present) plus the keys "m…" (never stored).
struct Fixture {
  std::unique_ptr<larder::Cache> cache;
  std::vector<std::string> present;
  std::vector<std::string> absent;
  std::vector<uint32_t> order;
  std::string value = std::string(16, 'v');

  Fixture() {
    larder::Result<std::unique_ptr<larder::Cache>> opened = larder::Cache::Open({});
    if (!opened.ok()) {
      std::fprintf(stderr, "Cache::Open: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    cache = std::move(*opened);
    for (size_t i = 0; i < kEntries; ++i) {
      present.push_back(KeyOf(i, 'k'));
      absent.push_back(KeyOf(i, 'm'));
      (void)cache->Set(present.back(), value);  // a failed fill shows up as Get misses
    }
    std::mt19937 rng(42);
    order.resize(kOrderLength);
    for (uint32_t& o : order) o = static_cast<uint32_t>(rng() % kEntries);
  }
};

// Built on first use and shared by every benchmark, so the fill is paid once.
Fixture& Shared() {
  static Fixture fixture;
  return fixture;
}

void BM_GetHit(benchmark::State& state) {
  Fixture& f = Shared();
  size_t i = 0;
  char out[16];
  for (auto _ : state) {
    larder::ValueHandle h = f.cache->Get(f.present[f.order[i++ % kOrderLength]]);
    if (h) std::memcpy(out, h.value().data(), sizeof(out));
    benchmark::DoNotOptimize(out);
  }
}
BENCHMARK(BM_GetHit);

void BM_GetMiss(benchmark::State& state) {
  Fixture& f = Shared();
  size_t i = 0;
  for (auto _ : state) {
    larder::ValueHandle h = f.cache->Get(f.absent[f.order[i++ % kOrderLength]]);
    benchmark::DoNotOptimize(static_cast<bool>(h));
  }
}
BENCHMARK(BM_GetMiss);

void BM_SetOverwrite(benchmark::State& state) {
  Fixture& f = Shared();
  size_t i = 0;
  for (auto _ : state) {
    larder::Status s = f.cache->Set(f.present[f.order[i++ % kOrderLength]], f.value);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_SetOverwrite);

void BM_GetOrSetHit(benchmark::State& state) {
  Fixture& f = Shared();
  const larder::Fetcher fetch = [&f]() -> larder::Result<std::string> { return f.value; };
  size_t i = 0;
  for (auto _ : state) {
    larder::Result<std::string> r =
        f.cache->GetOrSet(f.present[f.order[i++ % kOrderLength]], fetch);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_GetOrSetHit);

}  // namespace

BENCHMARK_MAIN();
