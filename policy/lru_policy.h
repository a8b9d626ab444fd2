// LruPolicy: exact least-recently-used order over the accesses it is told about.
#pragma once

#include "base/private.h"

#include "policy/eviction_policy.h"
#include "policy/node_list.h"

namespace larder {

class LruPolicy final : public EvictionPolicy {
 public:
  LruPolicy(NodeSpace space, uint32_t hook_offset, NodeId sentinel) noexcept
      : list_(space, hook_offset, sentinel) {
    list_.Reset();
  }

  void OnInsert(NodeId node, uint64_t /*hash*/) override {
    list_.PushFront(node);
    ++size_;
  }
  void OnAccess(NodeId node, uint64_t /*hash*/) override { list_.MoveToFront(node); }
  void OnRemove(NodeId node) override {
    list_.Unlink(node);
    --size_;
  }
  void OnReplace(NodeId old, NodeId fresh, uint64_t /*hash*/, bool promote) override {
    if (promote) {
      list_.Unlink(old);
      list_.PushFront(fresh);
    } else {
      list_.ReplaceWith(old, fresh);  // no write to the list's front: less shared-line traffic
    }
  }
  NodeId Victim() const override { return list_.back(); }
  size_t size() const override { return size_; }

 private:
  NodeList list_;
  size_t size_ = 0;
};

}  // namespace larder
