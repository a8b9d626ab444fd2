// Test helper for API tests: a cache on a ManualClock with maintenance driven by the test.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>

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

inline constexpr Duration kSec = std::chrono::seconds(1);
inline constexpr Duration kMs = std::chrono::milliseconds(1);

}  // namespace larder::testing
