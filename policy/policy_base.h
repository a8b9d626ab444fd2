// PolicyBase: what every policy needs from its PolicyConfig: node state bytes, weights, hashes.
#pragma once

#include "base/private.h"

#include <atomic>
#include <cstdint>

#include "policy/eviction_policy.h"
#include "policy/node_list.h"

namespace larder {

class PolicyBase : public EvictionPolicy {
 protected:
  explicit PolicyBase(const PolicyConfig& c) noexcept : config_(c) {}

  // The i-th sentinel list, emptied.
  NodeList MakeList(uint32_t i) const noexcept {
    NodeList list(config_.space, config_.hook_offset,
                  config_.sentinels + i * (16 >> NodeSpace::kUnitShift));
    list.Reset();
    return list;
  }

  uint8_t State(NodeId n) const noexcept {
    return NodeState(config_.space, config_.state_offset, n).load(std::memory_order_relaxed);
  }
  // Replaces the policy's bits (all but the engine's) with `bits`.
  void SetPolicyBits(NodeId n, uint8_t bits) const noexcept {
    std::atomic<uint8_t>& s = NodeState(config_.space, config_.state_offset, n);
    const uint8_t old = s.load(std::memory_order_relaxed);
    const uint8_t next = static_cast<uint8_t>((old & kNodeEngineBits) | (bits & ~kNodeEngineBits));
    if (next != old) s.store(next, std::memory_order_relaxed);
  }
  uint8_t PolicyBits(NodeId n) const noexcept {
    return static_cast<uint8_t>(State(n) & ~kNodeEngineBits);
  }

  uint64_t Weight(NodeId n) const noexcept {
    return config_.traits.weight != nullptr ? config_.traits.weight(config_.space, n) : 1;
  }
  uint32_t Hash(NodeId n) const noexcept { return config_.traits.hash(config_.space, n); }

  const PolicyConfig config_;
};

// Second chances one Victim() call may give before it picks regardless (bounds its latency).
inline constexpr int kMaxSecondChances = 128;

}  // namespace larder
