// EngineSim over larder::Cache; OptSim with next-use positions and a lazy max-heap.
#include "simulators.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <queue>

#include <fmt/format.h>

#include "larder/advanced/executor.h"

namespace larder::sim {
namespace {

struct NamedPolicy {
  std::string_view name;
  bool opt;
  EvictionPolicyKind kind;
  size_t exact_order_below;
  WindowAdaptation window = WindowAdaptation::kTuned;
};

constexpr size_t kAlwaysExact = std::numeric_limits<size_t>::max();
const size_t kEngineDefault = CacheOptions{}.exact_order_below;

const NamedPolicy kPolicies[] = {
    {"lru", false, EvictionPolicyKind::kLru, kAlwaysExact},
    {"wtinylfu", false, EvictionPolicyKind::kWTinyLfu, kEngineDefault},
    {"s3fifo", false, EvictionPolicyKind::kS3Fifo, kEngineDefault},
    {"opt", true, EvictionPolicyKind::kLru, 0},
    {"lru-lazy", false, EvictionPolicyKind::kLru, 0},
    {"wtinylfu-exact", false, EvictionPolicyKind::kWTinyLfu, kAlwaysExact},
    {"wtinylfu-lazy", false, EvictionPolicyKind::kWTinyLfu, 0},
    {"wtinylfu-hc", false, EvictionPolicyKind::kWTinyLfu, kEngineDefault,
     WindowAdaptation::kHillClimbing},
    {"wtinylfu-fixed", false, EvictionPolicyKind::kWTinyLfu, kEngineDefault,
     WindowAdaptation::kFixed},
};

}  // namespace

Result<PolicySpec> ParsePolicy(std::string_view name) {
  for (const NamedPolicy& p : kPolicies) {
    if (p.name == name) {
      return PolicySpec{std::string(name), p.opt, p.kind, p.exact_order_below, p.window};
    }
  }
  return Status::InvalidArgument(
      fmt::format("policies: '{}' is not one of {}", name, fmt::join(PolicyNames(), ", ")));
}

std::vector<std::string> PolicyNames() {
  std::vector<std::string> names;
  for (const NamedPolicy& p : kPolicies) names.emplace_back(p.name);
  return names;
}

Result<std::unique_ptr<EngineSim>> EngineSim::Open(const PolicySpec& policy, uint64_t capacity,
                                                   bool weighted) {
  CacheOptions o;
  o.num_shards = 1;
  o.policy = policy.kind;
  o.exact_order_below = policy.exact_order_below;
  o.window_adaptation = policy.window;
  o.clock = std::make_shared<ManualClock>();
  o.maintenance_interval = Duration::zero();
  o.executor = std::make_shared<ManualExecutor>();
  if (weighted) {
    o.max_bytes = capacity;
    o.expected_entries = 0;
    // The value carries the request's weight.
    o.weigher = [](std::string_view, std::string_view value) -> uint64_t {
      uint64_t w;
      std::memcpy(&w, value.data(), sizeof w);
      return w;
    };
  } else {
    o.max_entries = capacity;
  }
  Result<std::unique_ptr<Cache>> cache = Cache::Open(std::move(o));
  if (!cache.ok()) return cache.status();
  return std::unique_ptr<EngineSim>(new EngineSim(std::move(*cache), weighted));
}

void EngineSim::Replay(const std::vector<Request>& batch) {
  char key[8];
  char value[8];
  for (const Request& r : batch) {
    std::memcpy(key, &r.key, 8);
    const std::string_view k(key, 8);
    ++counts_.requests;
    if (cache_->Get(k)) {
      ++counts_.hits;
      continue;
    }
    std::string_view v;
    if (weighted_) {
      std::memcpy(value, &r.weight, 8);
      v = std::string_view(value, 8);
    }
    // Keys heavier than the cache are refused: they stay misses, as in OPT.
    (void)cache_->Set(k, v);
  }
}

void OptSim::Observe(const Request& r) {
  const auto [it, fresh] = index_.try_emplace(r.key, static_cast<uint32_t>(weights_.size()));
  if (fresh) weights_.push_back(r.weight);
  ids_.push_back(it->second);
}

HitCounts OptSim::Run(uint64_t capacity, bool weighted) const {
  const size_t n = ids_.size();
  // next[i]: position of the next request for ids_[i]'s key; "never" positions are unique too,
  // n + id, so heap entries never tie.
  std::vector<uint64_t> next(n);
  {
    std::vector<uint64_t> upcoming(weights_.size());
    for (size_t id = 0; id < upcoming.size(); ++id) upcoming[id] = n + id;
    for (size_t i = n; i-- > 0;) {
      next[i] = upcoming[ids_[i]];
      upcoming[ids_[i]] = i;
    }
  }
  std::vector<uint64_t> cached_next(weights_.size(), 0);  // 0 = not cached
  std::priority_queue<std::pair<uint64_t, uint32_t>> heap;  // (next use, id), stale allowed
  uint64_t used = 0;
  HitCounts counts;
  const auto weight = [&](uint32_t id) { return weighted ? weights_[id] : uint64_t{1}; };
  for (size_t i = 0; i < n; ++i) {
    const uint32_t id = ids_[i];
    ++counts.requests;
    if (cached_next[id] != 0) {
      ++counts.hits;
      cached_next[id] = next[i] + 1;
      heap.emplace(next[i], id);
      continue;
    }
    const uint64_t w = weight(id);
    if (w > capacity) continue;
    // Make room by evicting the cached keys used furthest in the future (the newcomer is always
    // admitted, as in the reference figures of the shared traces).
    while (used + w > capacity) {
      while (cached_next[heap.top().second] != heap.top().first + 1) heap.pop();  // stale
      const uint32_t victim = heap.top().second;
      heap.pop();
      cached_next[victim] = 0;
      used -= weight(victim);
    }
    cached_next[id] = next[i] + 1;
    heap.emplace(next[i], id);
    used += w;
  }
  return counts;
}

}  // namespace larder::sim
