// S3FifoPolicy: three FIFO queues (small, main, ghost), strong on recency-biased traffic.
//
// New nodes enter the small queue (10% of the capacity), unless their key was evicted from it
// recently (it is in the ghost), in which case they enter main directly. Accesses only raise a
// 2-bit frequency in the node; nothing moves on a hit. Evicting from small moves accessed nodes
// to main and forgets the rest, remembering their hashes in the ghost; evicting from main
// reinserts accessed nodes with their frequency decremented (CLOCK with 2-bit counters).
// After Yang et al., "FIFO queues are all you need for cache eviction" (SOSP 2023).
//
// Readers stop recording a node once its frequency is saturated (kNodeSkipReads).
#pragma once

#include "base/private.h"

#include <cstdint>
#include <memory>

#include "policy/policy_base.h"

namespace larder {

// Recently evicted key hashes: a fixed-size, 4-way bucketed table stamped with insertion order;
// a hash older than `capacity` insertions no longer counts. Approximate (a full bucket forgets its
// oldest), never allocates after construction.
class GhostSet {
 public:
  void Reset(uint64_t capacity);
  void Insert(uint32_t hash) noexcept;
  // True (and forgets it) when `hash` was inserted within the last `capacity` insertions.
  bool Take(uint32_t hash) noexcept;

 private:
  struct Slot {
    uint32_t hash;
    uint32_t stamp;  // insertion count + 1; 0 = empty
  };
  uint32_t Bucket(uint32_t hash) const noexcept {
    return static_cast<uint32_t>((hash * 0x9E3779B1u) >> shift_) * 4;
  }
  std::unique_ptr<Slot[]> slots_;
  int shift_ = 32;
  uint32_t capacity_ = 0;
  uint32_t clock_ = 0;
};

class S3FifoPolicy final : public PolicyBase {
 public:
  static constexpr size_t kSentinels = 2;

  explicit S3FifoPolicy(const PolicyConfig& c);

  void OnInsert(NodeId node, uint32_t hash) override;
  void OnAccess(NodeId node, uint32_t hash) override;
  void OnRemove(NodeId node) override;
  void OnReplace(NodeId old, NodeId fresh, uint32_t hash) override;
  NodeId Victim() override;
  size_t size() const override { return size_; }

  bool InMain(NodeId n) const noexcept { return PolicyBits(n) & kMain; }
  int Frequency(NodeId n) const noexcept { return (PolicyBits(n) >> 3) & 3; }

 private:
  static constexpr uint8_t kMain = 4;
  void Set(NodeId n, bool main, int freq) const noexcept {
    SetPolicyBits(n, static_cast<uint8_t>((main ? kMain : 0) | (freq << 3) |
                                          (freq == 3 ? kNodeSkipReads : 0)));
  }

  NodeList small_;
  NodeList main_;
  uint64_t small_weight_ = 0;
  uint64_t main_weight_ = 0;
  size_t size_ = 0;
  uint64_t small_max_;
  GhostSet ghost_;
};

}  // namespace larder
