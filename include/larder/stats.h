// CacheStats: a point-in-time snapshot of a cache's counters.
//
// Counters are kept per thread and per shard (never one shared cache line), so a snapshot sums
// them without stopping the cache: each field is exact once concurrent operations have finished,
// and fields taken together may be a few operations apart while traffic runs.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "larder/events.h"

namespace larder {

struct CacheStats {
  uint64_t entries = 0;      // stored entries (an expired entry counts until it is removed)
  uint64_t bytes = 0;        // summed weights: key + value + per-entry overhead
  uint64_t max_entries = 0;  // 0 = unbounded
  uint64_t max_bytes = 0;    // 0 = unbounded

  uint64_t hits = 0;    // reads answered from the cache (Get, GetOrSet, GetWithStale fresh hits)
  uint64_t misses = 0;  // reads that found nothing live
  double hit_rate = 0;  // hits / (hits + misses), 0 when there were no reads

  // Removals by RemovalCause (index = static_cast<int>(cause)).
  std::array<uint64_t, kRemovalCauseCount> removals{};
  uint64_t evictions = 0;    // == removals[kSize]
  uint64_t expirations = 0;  // == removals[kExpired]

  uint64_t loads = 0;            // fetcher runs that succeeded (GetOrSet, GetWithStale, refreshes)
  uint64_t load_failures = 0;    // fetcher runs that returned an error or threw
  uint64_t load_nanos = 0;       // total time spent in fetchers
  uint64_t stale_served = 0;     // GetWithStale answers served from a stale value
  uint64_t refreshes = 0;        // background refreshes started
  uint64_t coalesced_loads = 0;  // reads that waited for another caller's load of the same key
  uint64_t listener_errors = 0;  // listener calls that threw

  // One line per field, "name value"; for logs and the demo.
  std::string ToString() const;
  // Prometheus text exposition format (version 0.0.4): one metric family per field, named
  // larder_cache_<field>, each sample labelled cache="<cache_name>" when a name is given.
  // Counters end in _total; removals carry a cause label.
  std::string ToPrometheus(std::string_view cache_name = {}) const;
};

}  // namespace larder
