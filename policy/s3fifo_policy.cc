// S3FifoPolicy and its ghost set.
#include "policy/s3fifo_policy.h"

#include <algorithm>
#include <bit>

namespace larder {

void GhostSet::Reset(uint64_t capacity) {
  const uint64_t buckets = std::bit_ceil(std::max<uint64_t>(capacity / 2, 4));
  slots_ = std::make_unique<Slot[]>(buckets * 4);
  shift_ = 32 - std::countr_zero(buckets);
  capacity_ = static_cast<uint32_t>(std::min<uint64_t>(capacity, 1u << 30));
  clock_ = 0;
}

void GhostSet::Insert(uint32_t hash) noexcept {
  if (capacity_ == 0) return;
  Slot* b = &slots_[Bucket(hash)];
  Slot* oldest = b;
  for (int i = 0; i < 4; ++i) {
    if (b[i].stamp == 0 || b[i].hash == hash) {
      oldest = &b[i];
      break;
    }
    if (b[i].stamp < oldest->stamp) oldest = &b[i];
  }
  oldest->hash = hash;
  oldest->stamp = ++clock_;
  if (clock_ == UINT32_MAX - 1) {
    // Stamps are about to wrap: forget everything (rare; the ghost is only a hint).
    std::fill_n(slots_.get(), (uint64_t{1} << (32 - shift_)) * 4, Slot{0, 0});
    clock_ = 0;
  }
}

bool GhostSet::Take(uint32_t hash) noexcept {
  if (capacity_ == 0) return false;
  Slot* b = &slots_[Bucket(hash)];
  for (int i = 0; i < 4; ++i) {
    if (b[i].stamp != 0 && b[i].hash == hash) {
      const bool recent = clock_ - b[i].stamp < capacity_;
      b[i].stamp = 0;
      return recent;
    }
  }
  return false;
}

S3FifoPolicy::S3FifoPolicy(const PolicyConfig& c)
    : PolicyBase(c), small_(MakeList(0)), main_(MakeList(1)), small_max_(c.capacity / 10) {
  const uint64_t entries = c.expected_entries != 0 ? c.expected_entries : c.capacity;
  ghost_.Reset(entries - entries / 10);  // as many as main holds
}

void S3FifoPolicy::OnInsert(NodeId node, uint32_t hash) {
  const uint64_t w = Weight(node);
  if (ghost_.Take(hash)) {
    Set(node, true, 0);
    main_.PushFront(node);
    main_weight_ += w;
  } else {
    Set(node, false, 0);
    small_.PushFront(node);
    small_weight_ += w;
  }
  ++size_;
}

void S3FifoPolicy::OnAccess(NodeId node, uint32_t /*hash*/) {
  const int f = Frequency(node);
  if (f < 3) Set(node, InMain(node), f + 1);
}

void S3FifoPolicy::OnRemove(NodeId node) {
  const uint64_t w = Weight(node);
  (InMain(node) ? main_weight_ : small_weight_) -= w;
  (InMain(node) ? main_ : small_).Unlink(node);
  --size_;
}

void S3FifoPolicy::OnReplace(NodeId old, NodeId fresh, uint32_t /*hash*/) {
  const bool main = InMain(old);
  const int f = Frequency(old);
  const uint64_t w_old = Weight(old), w_new = Weight(fresh);
  (main ? main_ : small_).ReplaceWith(old, fresh);
  uint64_t& weight = main ? main_weight_ : small_weight_;
  weight = weight - w_old + w_new;
  Set(fresh, main, std::min(f + 1, 3));
}

NodeId S3FifoPolicy::Victim() {
  // Bounded: each pass either returns or moves a node whose frequency it lowers, and frequencies
  // are at most 3, so 4 * size passes always suffice; cap the work per call regardless.
  for (size_t steps = 0; steps < 4 * size_ + 4; ++steps) {
    if (small_weight_ > small_max_ || main_.empty()) {
      const NodeId t = small_.back();
      if (t == kNoNode) break;
      if (Frequency(t) >= 1) {
        const uint64_t w = Weight(t);
        small_.Unlink(t);
        small_weight_ -= w;
        main_.PushFront(t);
        main_weight_ += w;
        Set(t, true, 0);
        continue;
      }
      ghost_.Insert(Hash(t));
      return t;
    }
    const NodeId t = main_.back();
    if (Frequency(t) >= 1) {
      Set(t, true, Frequency(t) - 1);
      main_.MoveToFront(t);
      continue;
    }
    return t;
  }
  const NodeId t = small_.back();
  return t != kNoNode ? t : main_.back();
}

}  // namespace larder
