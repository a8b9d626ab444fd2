// WTinyLfuPolicy: regions, admission, lazy promotion, window adaptation.
#include "policy/wtinylfu_policy.h"

#include <algorithm>
#include <cmath>

namespace larder {
namespace {

constexpr double kProtectedShare = 0.80;    // of the main region
constexpr double kStepShare = 0.0625;       // hill climber step, of the capacity
constexpr double kStepDecay = 0.98;
constexpr double kRestartThreshold = 0.05;  // a hit-rate change this large restarts the steps
constexpr int kHashFloodThreshold = 6;      // candidates this frequent may win at random

}  // namespace

WTinyLfuPolicy::WTinyLfuPolicy(const PolicyConfig& c)
    : PolicyBase(c), lists_{MakeList(0), MakeList(1), MakeList(2)}, capacity_(c.capacity) {
  if (capacity_ == 0) return;
  // Counts from the first request on: a cache that fills before its sketch exists forgets what
  // its first pass saw (on looping traces that costs several points of hit ratio).
  sketch_entries_ = c.expected_entries != 0 ? c.expected_entries : capacity_;
  sketch_.EnsureCapacity(sketch_entries_);
  double share = c.window_share;
  switch (c.window) {
    case PolicyConfig::Window::kTuned:
      tuner_ = c.tuner;
      if (tuner_ == nullptr) {
        own_tuner_ = std::make_unique<WindowTuner>(capacity_, sketch_entries_,
                                                   c.traits.weight != nullptr);
        tuner_ = own_tuner_.get();
      }
      applied_share_ = tuner_->share_index();
      share = tuner_->share();
      break;
    case PolicyConfig::Window::kHillClimbing:
      sample_period_ = 10 * std::max<uint64_t>(sketch_entries_, 64);
      step_ = -kStepShare * static_cast<double>(capacity_);
      break;
    case PolicyConfig::Window::kFixed:
      break;
  }
  window_max_ = WindowFor(share);
  protected_max_ = ProtectedFor(window_max_);
}

uint64_t WTinyLfuPolicy::WindowFor(double share) const {
  return static_cast<uint64_t>(
      std::ceil(std::clamp(share, 0.0, 1.0) * static_cast<double>(capacity_)));
}

uint64_t WTinyLfuPolicy::ProtectedFor(uint64_t window_max) const {
  return static_cast<uint64_t>(kProtectedShare * static_cast<double>(capacity_ - window_max));
}

WTinyLfuPolicy::~WTinyLfuPolicy() = default;

void WTinyLfuPolicy::Move(NodeId n, Queue from, Queue to) {
  const uint64_t w = Weight(n);
  lists_[from].Unlink(n);
  lists_[to].PushFront(n);
  weight_[from] -= w;
  weight_[to] += w;
  SetQueue(n, to, to == kProbation && Marked(n));  // a demoted node keeps its mark
}

void WTinyLfuPolicy::OnInsert(NodeId node, uint32_t hash) {
  sketch_.Increment(hash);
  SetQueue(node, kWindow, false);
  lists_[kWindow].PushFront(node);
  weight_[kWindow] += Weight(node);
  ++size_;
  if (capacity_ == 0) return;
  if (config_.traits.weight != nullptr && size_ > 2 * sketch_entries_) {
    // Weighted caches holding many more (smaller) entries than expected: a larger sketch.
    sketch_entries_ = size_;
    sketch_.EnsureCapacity(size_);
  }
  RecordRequest(node, hash, false);
  SpillWindow();
}

void WTinyLfuPolicy::OnAccess(NodeId node, uint32_t hash) {
  sketch_.Increment(hash);
  if (config_.exact) {
    Promote(node);
  } else if (!Marked(node)) {
    SetQueue(node, QueueOf(node), true);
  }
  if (capacity_ != 0) RecordRequest(node, hash, true);
}

void WTinyLfuPolicy::OnRemove(NodeId node) {
  const Queue q = QueueOf(node);
  lists_[q].Unlink(node);
  weight_[q] -= Weight(node);
  --size_;
}

void WTinyLfuPolicy::OnReplace(NodeId old, NodeId fresh, uint32_t hash) {
  const Queue q = QueueOf(old);
  const uint64_t w_old = Weight(old), w_new = Weight(fresh);
  lists_[q].ReplaceWith(old, fresh);
  weight_[q] = weight_[q] - w_old + w_new;
  SetQueue(fresh, q, !config_.exact);
  // An overwrite is not a request: reads and inserts (misses) make the frequency.
  (void)hash;
  if (config_.exact) Promote(fresh);
  if (q == kWindow && capacity_ != 0) SpillWindow();
}

void WTinyLfuPolicy::Promote(NodeId n) {
  switch (QueueOf(n)) {
    case kWindow:
      lists_[kWindow].MoveToFront(n);
      break;
    case kProbation:
      Move(n, kProbation, kProtected);
      DemoteProtectedOverflow();
      break;
    case kProtected:
      lists_[kProtected].MoveToFront(n);
      break;
  }
}

void WTinyLfuPolicy::DemoteProtectedOverflow() {
  while (weight_[kProtected] > protected_max_) {
    const NodeId tail = lists_[kProtected].back();
    if (tail == kNoNode) break;
    Move(tail, kProtected, kProbation);
  }
}

void WTinyLfuPolicy::SpillWindow() {
  const uint64_t main_max = capacity_ - window_max_;
  while (weight_[kWindow] > window_max_) {
    const NodeId tail = lists_[kWindow].back();
    if (tail == kNoNode) break;
    if (weight_[kProbation] + weight_[kProtected] + Weight(tail) > main_max) break;
    Move(tail, kWindow, kProbation);
  }
}

NodeId WTinyLfuPolicy::MainVictim(int* chances) {
  for (;;) {
    NodeId v = lists_[kProbation].back();
    if (v != kNoNode) {
      if (!config_.exact && Marked(v) && *chances < kMaxSecondChances) {
        ++*chances;
        Move(v, kProbation, kProtected);  // clears the mark
        DemoteProtectedOverflow();
        continue;
      }
      return v;
    }
    v = lists_[kProtected].back();
    if (v == kNoNode) return kNoNode;
    if (!config_.exact && Marked(v) && *chances < kMaxSecondChances) {
      ++*chances;
      SetQueue(v, kProtected, false);
      lists_[kProtected].MoveToFront(v);
      continue;
    }
    return v;
  }
}

bool WTinyLfuPolicy::Admit(NodeId candidate, NodeId victim) {
  const uint32_t hc = Hash(candidate), hv = Hash(victim);
  sketch_.Prefetch(hc);  // the two lookups miss in parallel, not one after the other
  sketch_.Prefetch(hv);
  const int fc = sketch_.Frequency(hc);
  const int fv = sketch_.Frequency(hv);
  if (fc > fv) return true;
  if (fc < kHashFloodThreshold) return false;
  // A warm candidate against an equally warm victim: admit one time in 128, so an attacker who
  // makes a victim's counters collide with hot keys cannot pin it forever.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return (rng_ & 127) == 0;
}

NodeId WTinyLfuPolicy::Victim() {
  int chances = 0;
  const uint64_t main_max = capacity_ - window_max_;
  while (weight_[kWindow] > window_max_) {
    const NodeId c = lists_[kWindow].back();
    if (c == kNoNode) break;
    if (!config_.exact && Marked(c) && chances < kMaxSecondChances) {
      ++chances;
      SetQueue(c, kWindow, false);
      lists_[kWindow].MoveToFront(c);
      continue;
    }
    if (weight_[kProbation] + weight_[kProtected] + Weight(c) <= main_max) {
      Move(c, kWindow, kProbation);
      continue;
    }
    const NodeId v = MainVictim(&chances);
    if (v == kNoNode) return c;
    if (Admit(c, v)) {
      Move(c, kWindow, kProbation);
      return v;
    }
    return c;
  }
  const NodeId v = MainVictim(&chances);
  return v != kNoNode ? v : lists_[kWindow].back();
}

void WTinyLfuPolicy::RecordRequest(NodeId node, uint32_t hash, bool hit) {
  if (tuner_ != nullptr) {
    tuner_->Record(hash, Weight(node));
    const size_t share = tuner_->share_index();
    if (share != applied_share_) {
      applied_share_ = share;
      SetWindowShare(WindowTuner::kShares[share]);
    }
    return;
  }
  if (sample_period_ == 0) return;
  if (hit) {
    ++sample_hits_;
  } else {
    ++sample_misses_;
  }
  if (sample_hits_ + sample_misses_ >= sample_period_) Climb();
}

void WTinyLfuPolicy::Climb() {
  const double requests = static_cast<double>(sample_hits_ + sample_misses_);
  const double hit_rate = static_cast<double>(sample_hits_) / requests;
  const double change = hit_rate - previous_hit_rate_;
  const double amount = change >= 0 ? step_ : -step_;
  step_ = std::abs(change) >= kRestartThreshold
              ? kStepShare * static_cast<double>(capacity_) * (amount >= 0 ? 1 : -1)
              : kStepDecay * amount;
  previous_hit_rate_ = hit_rate;
  sample_hits_ = sample_misses_ = 0;
  const double target = std::clamp(static_cast<double>(window_max_) + amount, 0.0,
                                   static_cast<double>(capacity_));
  const uint64_t next = static_cast<uint64_t>(target);
  if (next == window_max_) return;
  window_max_ = next;
  ResizeRegions();
}

void WTinyLfuPolicy::SetWindowShare(double share) {
  if (capacity_ == 0) return;
  const uint64_t next = WindowFor(share);
  if (next == window_max_) return;
  window_max_ = next;
  ResizeRegions();
}

void WTinyLfuPolicy::ResizeRegions() {
  protected_max_ = ProtectedFor(window_max_);
  // Grow the window from the main region's least recent nodes.
  while (weight_[kWindow] < window_max_) {
    NodeId n = lists_[kProbation].back();
    Queue from = kProbation;
    if (n == kNoNode) {
      n = lists_[kProtected].back();
      from = kProtected;
    }
    if (n == kNoNode || weight_[kWindow] + Weight(n) > window_max_) break;
    Move(n, from, kWindow);
  }
  // Shrink it into probation (at the recent end: they were in the cache a short while).
  SpillWindow();
  DemoteProtectedOverflow();
}

}  // namespace larder
