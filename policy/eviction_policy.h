// EvictionPolicy: decides which entry a bounded shard gives up next.
//
// The engine tells the policy about inserts, accesses (drained from lossy read buffers),
// replacements and removals of nodes, and asks it for a victim while a bound is exceeded. Every
// call is O(1) amortized. Policies keep their bookkeeping inside each node, so they cost no
// allocation per entry:
//   - a ListHook at `hook_offset` (the policy's list links);
//   - a state byte (std::atomic<uint8_t>) at `state_offset`, shared with the engine:
//       bit 0  kNodeLinked     engine: the node is in the table and tracked by the policy
//       bit 1  kNodeSkipReads  policy: recording further reads of this node gains nothing;
//                              lock-free readers test it and skip recording (saves a drain)
//       bits 2..7              policy-private (queue membership, frequency, referenced)
//     Only the shard lock's holder writes the byte; readers only load it.
// Frequency-based policies also need a node's key hash and weight; the engine supplies them
// through NodeTraits (entries are immutable, so both are stable while the node is tracked).
//
// Thread safety: none; the engine calls a shard's policy under that shard's lock.
#pragma once

#include "base/private.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "base/node_space.h"
#include "larder/cache.h"

namespace larder {

class WindowTuner;

inline constexpr uint8_t kNodeLinked = 1;
inline constexpr uint8_t kNodeSkipReads = 2;
inline constexpr uint8_t kNodeEngineBits = kNodeLinked;  // bits a policy must preserve

struct NodeTraits {
  // The key's 32-bit hash (what the engine hands OnInsert/OnAccess).
  uint32_t (*hash)(NodeSpace space, NodeId node) = nullptr;
  // The node's weight in the policy's capacity unit; null = every node weighs 1.
  uint64_t (*weight)(NodeSpace space, NodeId node) = nullptr;
};

struct PolicyConfig {
  NodeSpace space{};
  uint32_t hook_offset = 0;
  uint32_t state_offset = 0;
  NodeId sentinels = kNoNode;  // PolicySentinelCount(kind) consecutive 16-byte nodes
  // What the engine bounds, in NodeTraits::weight units (entries when weight is null). A policy
  // sizes its regions from it; 0 = unbounded (the policy only orders).
  uint64_t capacity = 0;
  // Entries expected when full (sizes frequency sketches and ghost lists).
  uint64_t expected_entries = 0;
  // Exact order: every access reorders at once. Otherwise accesses only mark nodes and the
  // order catches up when a victim is chosen (lazy promotion; cheaper for large shards).
  bool exact = true;
  NodeTraits traits{};
  // W-TinyLFU only: how the window adapts (see wtinylfu_policy.h).
  enum class Window : uint8_t { kTuned, kHillClimbing, kFixed } window = Window::kTuned;
  double window_share = 0.01;  // initial (or, with kFixed, permanent) window share of capacity
  // kTuned: the cache-wide tuner to follow (not owned; outlives the policy). Null = the policy
  // makes its own for `capacity`.
  WindowTuner* tuner = nullptr;
};

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // REQUIRES: `node` is not tracked; its state byte holds only engine bits.
  virtual void OnInsert(NodeId node, uint32_t hash) = 0;
  // REQUIRES: `node` is tracked (inserted and not removed).
  virtual void OnAccess(NodeId node, uint32_t hash) = 0;
  // REQUIRES: `node` is tracked.
  virtual void OnRemove(NodeId node) = 0;
  // A new version `fresh` of `old`'s key replaces it and counts as an access.
  // REQUIRES: `old` is tracked, `fresh` is not and its state byte holds only engine bits.
  virtual void OnReplace(NodeId old, NodeId fresh, uint32_t hash) = 0;
  // A hint: a node with this key hash is about to be inserted or replaced (lets the policy start
  // loading what it will touch, overlapping the engine's own table probe).
  virtual void Prepare(uint32_t hash) noexcept { (void)hash; }
  // The node to evict next, left tracked (the engine removes it, calling OnRemove, before it asks
  // again). May reorder nodes first (second chances, admission). kNoNode when nothing is tracked.
  virtual NodeId Victim() = 0;
  virtual size_t size() const = 0;
};

// Nodes the policy may use for its own bookkeeping (list sentinels): how many, each 16 bytes.
size_t PolicySentinelCount(EvictionPolicyKind kind);

// REQUIRES: config.sentinels names PolicySentinelCount(kind) consecutive 16-byte nodes; each
// tracked node has a ListHook at hook_offset and its state byte at state_offset.
std::unique_ptr<EvictionPolicy> MakeEvictionPolicy(EvictionPolicyKind kind,
                                                   const PolicyConfig& config);

// The state byte of `node`.
inline std::atomic<uint8_t>& NodeState(NodeSpace space, uint32_t state_offset,
                                       NodeId node) noexcept {
  return *std::launder(reinterpret_cast<std::atomic<uint8_t>*>(space.At(node) + state_offset));
}

}  // namespace larder
