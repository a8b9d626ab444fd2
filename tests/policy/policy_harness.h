// Test helper: drives an EvictionPolicy the way a shard does, over nodes from a real arena.
//
// Node layout (32 bytes): ListHook at 0, state byte at 8, key hash at 12, weight at 16.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "node_pool.h"
#include "policy/eviction_policy.h"
#include "policy/node_list.h"

namespace larder::testing {

struct TestNode {
  ListHook hook;
  std::atomic<uint8_t> state;
  uint8_t pad[3];
  uint32_t hash;
  uint64_t weight;
  uint64_t key;
};
static_assert(sizeof(TestNode) == 32);

inline uint32_t TestHash(uint64_t key) {
  uint64_t x = (key + 1) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  return static_cast<uint32_t>(x * 0xBF58476D1CE4E5B9ull >> 32);
}

class PolicyHarness {
 public:
  // `capacity` in entries, or in weight units when `weighted`.
  PolicyHarness(EvictionPolicyKind kind, uint64_t capacity, bool exact = true,
                bool weighted = false, uint64_t expected_entries = 0,
                PolicyConfig::Window window = PolicyConfig::Window::kTuned)
      : capacity_(capacity) {
    PolicyConfig c;
    c.space = pool_.space();
    c.hook_offset = 0;
    c.state_offset = 8;
    c.sentinels = pool_.New(PolicySentinelCount(kind) * 16);
    c.capacity = capacity;
    c.expected_entries = expected_entries;
    c.exact = exact;
    c.window = window;
    c.traits.hash = [](NodeSpace s, NodeId n) { return Node(s, n)->hash; };
    if (weighted) c.traits.weight = [](NodeSpace s, NodeId n) { return Node(s, n)->weight; };
    weighted_ = weighted;
    policy_ = MakeEvictionPolicy(kind, c);
  }

  static TestNode* Node(NodeSpace s, NodeId n) { return reinterpret_cast<TestNode*>(s.At(n)); }
  TestNode* Node(NodeId n) const { return Node(pool_.space(), n); }

  // A request: a hit is an access, a miss inserts and evicts while over capacity.
  bool Request(uint64_t key, uint64_t weight = 1) {
    auto it = nodes_.find(key);
    if (it != nodes_.end()) {
      policy_->OnAccess(it->second, TestHash(key));
      ++hits_;
      return true;
    }
    ++misses_;
    Insert(key, weight);
    return false;
  }
  void Insert(uint64_t key, uint64_t weight = 1) {
    const NodeId n = Allocate(key, weight);
    nodes_[key] = n;
    used_ += weighted_ ? weight : 1;
    policy_->OnInsert(n, TestHash(key));
    EvictWhileOver();
  }
  // Replaces the node of `key` (which must be cached) with a new one of `weight`.
  void Replace(uint64_t key, uint64_t weight) {
    const NodeId old = nodes_.at(key);
    const NodeId fresh = Allocate(key, weight);
    policy_->OnReplace(old, fresh, TestHash(key));
    used_ = used_ - (weighted_ ? Node(old)->weight : 1) + (weighted_ ? weight : 1);
    nodes_[key] = fresh;
    EvictWhileOver();
  }
  void Remove(uint64_t key) {
    const NodeId n = nodes_.at(key);
    policy_->OnRemove(n);
    used_ -= weighted_ ? Node(n)->weight : 1;
    nodes_.erase(key);
  }
  void EvictWhileOver() {
    while (used_ > capacity_) {
      const NodeId v = policy_->Victim();
      if (v == kNoNode) break;
      ++evictions_;
      Remove(Node(v)->key);
    }
  }

  bool Contains(uint64_t key) const { return nodes_.count(key) != 0; }
  NodeId NodeOf(uint64_t key) const { return nodes_.at(key); }
  EvictionPolicy& policy() { return *policy_; }
  template <typename P>
  P& as() {
    return static_cast<P&>(*policy_);
  }
  uint64_t used() const { return used_; }
  size_t size() const { return nodes_.size(); }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  uint64_t evictions() const { return evictions_; }
  double hit_ratio() const {
    return hits_ + misses_ == 0 ? 0 : static_cast<double>(hits_) / static_cast<double>(hits_ + misses_);
  }
  void ResetCounts() { hits_ = misses_ = 0; }

 private:
  NodeId Allocate(uint64_t key, uint64_t weight) {
    const NodeId n = pool_.New(32);
    TestNode* t = Node(n);
    t->state.store(kNodeLinked, std::memory_order_relaxed);
    t->hash = TestHash(key);
    t->weight = weight;
    t->key = key;
    return n;
  }

  NodePool pool_;
  std::unique_ptr<EvictionPolicy> policy_;
  std::unordered_map<uint64_t, NodeId> nodes_;
  uint64_t capacity_;
  bool weighted_ = false;
  uint64_t used_ = 0;
  uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

}  // namespace larder::testing
