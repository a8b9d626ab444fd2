// WTinyLfuPolicy: Window TinyLFU with an adaptive window (the default policy).
//
// New nodes enter a small LRU window. Nodes leaving the window become candidates for the main
// region, a segmented LRU (probation, then protected once accessed again). When the cache is
// full, a candidate competes with probation's least recent node and the one with the lower
// estimated frequency (FrequencySketch) is evicted: the window absorbs bursts, the sketch keeps
// one-hit wonders and scans from flushing the frequently used main region. A hill climber
// resizes the window every sample: growing it while that raises the hit rate (recency-heavy
// traffic), shrinking it otherwise (frequency-heavy traffic).
//
// Written from the descriptions in Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient
// Cache Admission Policy" (ACM ToS 2017), Einziger et al., "Adaptive Software Cache Management"
// (Middleware 2018), and Caffeine's design notes (window 1%, protected 80% of main, climber step
// 6.25% decaying by 0.98, restart on a 5% hit-rate change, hash-flooding guard on admission).
//
// Lazy mode (large shards): accesses only count in the sketch and mark the node; promotions
// (window front, probation to protected) happen when Victim() meets a marked node.
#pragma once

#include "base/private.h"

#include <cstdint>

#include "policy/frequency_sketch.h"
#include "policy/policy_base.h"

namespace larder {

class WTinyLfuPolicy final : public PolicyBase {
 public:
  static constexpr size_t kSentinels = 3;

  explicit WTinyLfuPolicy(const PolicyConfig& c);

  void OnInsert(NodeId node, uint32_t hash) override;
  void OnAccess(NodeId node, uint32_t hash) override;
  void OnRemove(NodeId node) override;
  void OnReplace(NodeId old, NodeId fresh, uint32_t hash) override;
  NodeId Victim() override;
  size_t size() const override { return size_; }
  std::string_view name() const override { return "wtinylfu"; }

  // For tests and the simulator.
  enum Queue : uint8_t { kWindow = 0, kProbation = 1, kProtected = 2 };
  Queue QueueOf(NodeId n) const noexcept { return static_cast<Queue>((PolicyBits(n) >> 2) & 3); }
  uint64_t window_max() const noexcept { return window_max_; }
  uint64_t window_weight() const noexcept { return weight_[kWindow]; }
  uint64_t probation_weight() const noexcept { return weight_[kProbation]; }
  uint64_t protected_weight() const noexcept { return weight_[kProtected]; }
  const FrequencySketch& sketch() const noexcept { return sketch_; }
  // Adjustments the climber made (positive grew the window).
  int64_t last_adjustment() const noexcept { return last_adjustment_; }

 private:
  static constexpr uint8_t kMarked = 16;  // accessed since the last pass (lazy mode)

  void SetQueue(NodeId n, Queue q, bool marked) const noexcept {
    SetPolicyBits(n, static_cast<uint8_t>((q << 2) | (marked ? kMarked : 0)));
  }
  bool Marked(NodeId n) const noexcept { return State(n) & kMarked; }
  void Move(NodeId n, Queue from, Queue to, bool front = true);
  void Promote(NodeId n);  // exact-mode reaction to an access
  void DemoteProtectedOverflow();
  // Moves window overflow into probation while the main region has room.
  void SpillWindow();
  // Probation's victim after lazy promotions; protected's, then the window's, when it is empty.
  NodeId MainVictim(int* chances);
  bool Admit(NodeId candidate, NodeId victim);
  void RecordRequest(bool hit);
  void Climb();
  void ResizeRegions();
  void EnsureSketch();

  NodeList lists_[3];
  uint64_t weight_[3] = {0, 0, 0};
  size_t size_ = 0;
  uint64_t total_weight_ = 0;

  uint64_t capacity_;      // 0 = unbounded: only ordering, no sketch
  uint64_t window_max_ = 0;
  uint64_t protected_max_ = 0;
  FrequencySketch sketch_;
  uint64_t expected_entries_;

  // Hill climber.
  uint64_t sample_hits_ = 0;
  uint64_t sample_misses_ = 0;
  uint64_t sample_period_ = 0;
  double previous_hit_rate_ = 0;
  double step_ = 0;
  int64_t last_adjustment_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace larder
