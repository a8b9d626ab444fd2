// EvictionPolicy: decides which entry a bounded shard gives up next.
//
// The engine tells the policy about inserts, accesses (drained from lossy read buffers) and
// removals of nodes, and asks it for a victim when a bound is exceeded. Every call is O(1).
// Policies keep their bookkeeping in a hook inside each node (at a fixed offset the engine
// reserves), so they cost no allocation per entry.
//
// Thread safety: none; the engine calls a shard's policy under that shard's lock.
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/node_space.h"
#include "larder/cache.h"

namespace larder {

class EvictionPolicy {
 public:
  virtual ~EvictionPolicy() = default;
  // `hash` is the key's hash, for policies that count frequencies.
  virtual void OnInsert(NodeId node, uint64_t hash) = 0;
  // REQUIRES: `node` is tracked (inserted and not removed).
  virtual void OnAccess(NodeId node, uint64_t hash) = 0;
  // REQUIRES: `node` is tracked.
  virtual void OnRemove(NodeId node) = 0;
  // A new version `fresh` of the key of `old` replaces it. `promote`: the write counts as an
  // access that must reorder now; otherwise `fresh` may simply take `old`'s place (the engine
  // marks it referenced for a lazy promotion). Default: remove then insert.
  // REQUIRES: `old` is tracked, `fresh` is not.
  virtual void OnReplace(NodeId old, NodeId fresh, uint64_t hash, bool promote) {
    (void)promote;
    OnRemove(old);
    OnInsert(fresh, hash);
  }
  // The node to evict next without removing it; kNoNode when nothing is tracked.
  virtual NodeId Victim() const = 0;
  virtual size_t size() const = 0;
};

// Nodes the policy may use for its own bookkeeping (list sentinels): how many, each 16 bytes.
size_t PolicySentinelCount(EvictionPolicyKind kind);

// REQUIRES: `sentinels` names PolicySentinelCount(kind) consecutive 16-byte nodes; each tracked
// node has a ListHook at `hook_offset`, zeroed before OnInsert.
std::unique_ptr<EvictionPolicy> MakeEvictionPolicy(EvictionPolicyKind kind, NodeSpace space,
                                                   uint32_t hook_offset, NodeId sentinels);

}  // namespace larder
