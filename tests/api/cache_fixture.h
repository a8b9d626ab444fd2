// Test helper for API tests: a cache on a ManualClock with maintenance driven by the test.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "larder/cache.h"

namespace larder::testing {

struct ManualCache {
  explicit ManualCache(CacheOptions options = {}) {
    clock = std::make_shared<ManualClock>();
    options.clock = clock;
    options.maintenance_interval = Duration::zero();
    auto opened = Cache::Open(std::move(options));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    cache = std::move(*opened);
  }
  Cache* operator->() { return cache.get(); }
  std::string Value(std::string_view key) {
    std::string v;
    return cache->Get(key, &v) ? v : "<miss>";
  }

  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<Cache> cache;
};

// The keys of the events in `mask`, collected from whichever thread emits them.
class EventKeys {
 public:
  EventKeys(Cache& cache, EventMask mask)
      : sub_(cache.Subscribe(
            [this](const CacheEvent& ev) {
              std::lock_guard lock(mu_);
              keys_.emplace_back(ev.key);
            },
            mask)) {}
  std::vector<std::string> Sorted() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out = keys_;
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> keys_;
  Subscription sub_;  // last: unsubscribed before the members it writes go
};

inline constexpr Duration kSec = std::chrono::seconds(1);
inline constexpr Duration kMs = std::chrono::milliseconds(1);

}  // namespace larder::testing
