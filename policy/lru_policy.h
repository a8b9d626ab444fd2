// LruPolicy: least recently used, exact or with lazy promotion.
//
// Exact: every access moves the node to the front. Lazy (large shards): an access marks the node
// (kNodeSkipReads doubles as the mark, so readers stop recording it) and Victim() gives marked
// nodes at the tail a second chance, moving them to the front: CLOCK over the LRU list, the
// "lazy promotion" of Yang et al. (HotOS 2023). See docs/decisions/0006-lazy-promotion.md.
#pragma once

#include "base/private.h"

#include "policy/policy_base.h"

namespace larder {

class LruPolicy final : public PolicyBase {
 public:
  explicit LruPolicy(const PolicyConfig& c) noexcept : PolicyBase(c), list_(MakeList(0)) {}

  void OnInsert(NodeId node, uint32_t /*hash*/) override {
    list_.PushFront(node);
    ++size_;
  }
  void OnAccess(NodeId node, uint32_t /*hash*/) override {
    if (config_.exact) {
      list_.MoveToFront(node);
    } else {
      SetPolicyBits(node, kNodeSkipReads);
    }
  }
  void OnRemove(NodeId node) override {
    list_.Unlink(node);
    --size_;
  }
  void OnReplace(NodeId old, NodeId fresh, uint32_t /*hash*/) override {
    if (config_.exact) {
      list_.Unlink(old);
      list_.PushFront(fresh);
    } else {
      list_.ReplaceWith(old, fresh);  // no write to the list's front: less shared-line traffic
      SetPolicyBits(fresh, kNodeSkipReads);
    }
  }
  NodeId Victim() override {
    for (int chances = 0; chances < kMaxSecondChances; ++chances) {
      const NodeId tail = list_.back();
      if (tail == kNoNode || !(State(tail) & kNodeSkipReads)) return tail;
      SetPolicyBits(tail, 0);
      list_.MoveToFront(tail);
    }
    return list_.back();
  }
  size_t size() const override { return size_; }

 private:
  NodeList list_;
  size_t size_ = 0;
};

}  // namespace larder
