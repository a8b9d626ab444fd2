// Simulators: replay requests against one policy at one capacity and count hits.
//
// EngineSim runs a real larder::Cache (one shard, manual clock) with the named policy: a hit is
// a Get that finds the key, a miss Sets it. So the simulator measures the engine's own policy
// code, buffers and eviction loop, not a model of them. OptSim is Bélády's clairvoyant policy,
// computed from next-use positions (it needs the whole trace's key order, kept compactly as
// 32-bit ids).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "larder/cache.h"
#include "larder/status.h"
#include "trace.h"

namespace larder::sim {

// A policy as the simulator names it: "lru" (exact order), "wtinylfu" and "s3fifo" (as the
// engine runs them: exact order in small shards, lazy promotion in large ones), variants forcing
// one mode ("lru-lazy", "wtinylfu-exact", "wtinylfu-lazy"), W-TinyLFU with another window
// adaptation ("wtinylfu-hc" hill climbing, "wtinylfu-fixed" a fixed 1% window), and "opt".
struct PolicySpec {
  std::string name;
  bool opt = false;
  EvictionPolicyKind kind = EvictionPolicyKind::kLru;
  size_t exact_order_below = 2048;
  WindowAdaptation window = WindowAdaptation::kTuned;
};
Result<PolicySpec> ParsePolicy(std::string_view name);
// Every name ParsePolicy accepts.
std::vector<std::string> PolicyNames();

struct HitCounts {
  uint64_t hits = 0;
  uint64_t requests = 0;
  double ratio() const {
    return requests == 0 ? 0 : static_cast<double>(hits) / static_cast<double>(requests);
  }
};

class EngineSim {
 public:
  // `capacity` counts entries, or bytes when `weighted` (then each key weighs its request's
  // weight, through a weigher).
  static Result<std::unique_ptr<EngineSim>> Open(const PolicySpec& policy, uint64_t capacity,
                                                 bool weighted);
  void Replay(const std::vector<Request>& batch);
  const HitCounts& counts() const { return counts_; }

 private:
  EngineSim(std::unique_ptr<Cache> cache, bool weighted)
      : cache_(std::move(cache)), weighted_(weighted) {}
  std::unique_ptr<Cache> cache_;
  bool weighted_;
  HitCounts counts_;
};

// Bélády's OPT. Feed every request once with Observe(), then Run() per capacity.
class OptSim {
 public:
  void Observe(const Request& r);
  // Admits every missed key and evicts the cached key whose next use is furthest away; in
  // weighted mode, the furthest ones until the new key fits (the usual greedy extension).
  HitCounts Run(uint64_t capacity, bool weighted) const;
  uint64_t unique_keys() const { return weights_.size(); }

 private:
  std::vector<uint32_t> ids_;
  std::vector<uint64_t> weights_;  // per id: the weight of its first request
  struct KeyHash {
    size_t operator()(uint64_t k) const noexcept { return k * 0x9E3779B97F4A7C15ull >> 16; }
  };
  std::unordered_map<uint64_t, uint32_t, KeyHash> index_;  // key -> id
};

}  // namespace larder::sim
