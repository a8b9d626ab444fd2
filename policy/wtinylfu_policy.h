// WTinyLfuPolicy: Window TinyLFU with an adaptive window (the default policy).
//
// New nodes enter a small LRU window. Nodes leaving the window become candidates for the main
// region, a segmented LRU (probation, then protected once accessed again). When the cache is
// full, a candidate competes with probation's least recent node and the one with the lower
// estimated frequency (FrequencySketch) is evicted: the window absorbs bursts, the sketch keeps
// one-hit wonders and scans from flushing the frequently used main region.
//
// The window's size adapts. By default a WindowTuner compares shadow caches with a smaller and a
// larger window on the same sampled requests and moves the window towards the better one
// (recency-heavy traffic grows it, frequency-heavy traffic shrinks it). Hill climbing on the hit
// rate, as Caffeine does (step 6.25% of the capacity decaying by 0.98, restarting on a 5% change),
// remains available; docs/decisions/0012-w-tinylfu.md compares the two on the shared traces.
//
// Written from the descriptions in Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient
// Cache Admission Policy" (ACM ToS 2017), Einziger et al., "Adaptive Software Cache Management"
// (Middleware 2018), and Caffeine's design notes (window 1%, protected 80% of main, hash-flooding
// guard on admission).
//
// Lazy mode (large shards): an access counts in the sketch and marks the node; promotions
// (window front, probation to protected) happen when Victim() meets a marked node. The mark is
// kNodeSkipReads, so readers stop recording a marked node: the sketch then counts, per node, the
// passes in which it was read rather than every read, which keeps reads of hot entries free of
// any shared write.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <memory>

#include "policy/frequency_sketch.h"
#include "policy/policy_base.h"
#include "policy/window_tuner.h"

namespace larder {

class WTinyLfuPolicy final : public PolicyBase {
 public:
  static constexpr size_t kSentinels = 3;

  explicit WTinyLfuPolicy(const PolicyConfig& c);
  ~WTinyLfuPolicy() override;

  void OnInsert(NodeId node, uint32_t hash) override;
  void OnAccess(NodeId node, uint32_t hash) override;
  void OnRemove(NodeId node) override;
  void OnReplace(NodeId old, NodeId fresh, uint32_t hash) override;
  NodeId Victim() override;
  void Prepare(uint32_t hash) noexcept override { sketch_.Prefetch(hash); }
  size_t size() const override { return size_; }

  // Gives the window `share` (0..1) of the capacity now, moving nodes between regions.
  void SetWindowShare(double share);

  // For tests and the simulator.
  enum Queue : uint8_t { kWindow = 0, kProbation = 1, kProtected = 2 };
  Queue QueueOf(NodeId n) const noexcept { return static_cast<Queue>((PolicyBits(n) >> 2) & 3); }
  uint64_t window_max() const noexcept { return window_max_; }
  uint64_t window_weight() const noexcept { return weight_[kWindow]; }
  uint64_t probation_weight() const noexcept { return weight_[kProbation]; }
  uint64_t protected_weight() const noexcept { return weight_[kProtected]; }
  const FrequencySketch& sketch() const noexcept { return sketch_; }
  const WindowTuner* tuner() const noexcept { return tuner_; }

 private:
  static constexpr uint8_t kMarked = kNodeSkipReads;  // accessed since the last pass (lazy mode)

  void SetQueue(NodeId n, Queue q, bool marked) const noexcept {
    SetPolicyBits(n, static_cast<uint8_t>((q << 2) | (marked ? kMarked : 0)));
  }
  bool Marked(NodeId n) const noexcept { return State(n) & kMarked; }
  void Move(NodeId n, Queue from, Queue to);
  void Promote(NodeId n);  // exact-mode reaction to an access
  void DemoteProtectedOverflow();
  // Moves window overflow into probation while the main region has room.
  void SpillWindow();
  // Probation's victim after lazy promotions; protected's when probation is empty.
  NodeId MainVictim(int* chances);
  bool Admit(NodeId candidate, NodeId victim);
  // A request (hit or miss) for the window's adaptation.
  void RecordRequest(NodeId node, uint32_t hash, bool hit);
  void Climb();
  void ResizeRegions();
  uint64_t WindowFor(double share) const;          // the window's weight for a share of capacity
  uint64_t ProtectedFor(uint64_t window_max) const;  // 80% of what the window leaves

  NodeList lists_[3];
  uint64_t weight_[3] = {0, 0, 0};
  size_t size_ = 0;

  const uint64_t capacity_;  // 0 = unbounded: only ordering, no sketch
  uint64_t window_max_ = 0;
  uint64_t protected_max_ = 0;
  FrequencySketch sketch_;
  uint64_t sketch_entries_ = 0;

  std::unique_ptr<WindowTuner> own_tuner_;
  WindowTuner* tuner_ = nullptr;
  size_t applied_share_ = 0;  // the tuner's share index this policy applies
  // Hill climber (PolicyConfig::Window::kHillClimbing).
  uint64_t sample_hits_ = 0;
  uint64_t sample_misses_ = 0;
  uint64_t sample_period_ = 0;
  double previous_hit_rate_ = 0;
  double step_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
};

}  // namespace larder
