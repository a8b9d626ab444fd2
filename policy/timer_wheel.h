// TimerWheel: hierarchical timing wheel for entry deadlines; O(1) schedule and cancel.
//
// Seven levels of 64 buckets. Level 0 buckets span 2^20 ns (about 1 ms); each level up spans 64
// times more, so the wheel covers 2^62 ns (146 years) with deadlines kept to bucket precision.
// Buckets are NodeLists threaded through a TimerHook in each node; their sentinels are nodes the
// owner provides. Advance() hands every node of each bucket that came due to a callback, which
// either expires it or schedules it again (a sliding deadline that moved, or a node cascading
// from a coarse level to a finer one). A deadline is never reported before its bucket's time.
// Design after Varghese & Lauck's hierarchical timing wheels, as used by Kafka and Caffeine.
//
// Thread safety: none; callers serialize.
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>

#include "policy/node_list.h"

namespace larder {

class TimerWheel {
 public:
  static constexpr int kLevels = 7;
  static constexpr int kLevelBits = 6;
  static constexpr int kBuckets = 1 << kLevelBits;
  static constexpr int kTickShift = 20;
  static constexpr size_t kSentinelCount = size_t{kLevels} * kBuckets;

  // REQUIRES: hook_offset + sizeof(ListHook) <= 16; `first_sentinel` names kSentinelCount
  // consecutive 16-byte nodes. `now` is the current time in nanoseconds.
  TimerWheel(NodeSpace space, uint32_t hook_offset, NodeId first_sentinel, int64_t now) noexcept;

  // (Re)schedules `node` to come due at `deadline`; a past deadline comes due at the next tick.
  void Schedule(NodeId node, int64_t deadline) noexcept;
  // Unschedules `node`; no-op when it is not scheduled.
  void Cancel(NodeId node) noexcept;
  // Schedules `fresh` at `deadline` in place of `old` (unscheduled afterwards). When `old` is
  // scheduled and `deadline >= old_deadline`, `fresh` takes `old`'s bucket: that bucket comes due
  // no later than `old_deadline`, so `fresh` is never reported late, at most early (and then
  // rescheduled by the owner). Otherwise it is a Cancel and a Schedule.
  void Replace(NodeId old, int64_t old_deadline, NodeId fresh, int64_t deadline) noexcept;
  bool Scheduled(NodeId node) const noexcept { return Bucket(0, 0).Linked(node); }

  // Moves time to `now` and calls on_due(NodeId) for each node whose bucket came due; the node
  // is unscheduled before the call and on_due may Schedule or Cancel any node. Returns how many
  // nodes were handed out.
  template <typename OnDue>
  size_t Advance(int64_t now, OnDue&& on_due) {
    if (now <= now_) return 0;
    const int64_t prev = now_;
    now_ = now;
    size_t handed = 0;
    for (int level = 0; level < kLevels; ++level) {
      const int shift = Shift(level);
      const int64_t prev_ticks = prev >> shift;
      const int64_t cur_ticks = now >> shift;
      if (cur_ticks <= prev_ticks) break;
      const int64_t count = cur_ticks - prev_ticks >= kBuckets ? kBuckets : cur_ticks - prev_ticks;
      for (int64_t i = 1; i <= count; ++i) {
        handed += Drain(level, static_cast<int>((prev_ticks + i) & (kBuckets - 1)), on_due);
      }
    }
    return handed;
  }

  int64_t now() const noexcept { return now_; }
  size_t size() const noexcept { return size_; }

 private:
  static constexpr int Shift(int level) { return kTickShift + level * kLevelBits; }

  NodeList Bucket(int level, int index) const noexcept;

  template <typename OnDue>
  size_t Drain(int level, int index, OnDue& on_due) {
    NodeList bucket = Bucket(level, index);
    NodeId n = bucket.Detach();
    size_t handed = 0;
    while (n != kNoNode && n != bucket.sentinel()) {
      ListHook& h = bucket.Hook(n);
      const NodeId next = h.next;
      h.prev = h.next = kNoNode;
      --size_;
      ++handed;
      on_due(n);
      n = next;
    }
    return handed;
  }

  NodeSpace space_;
  uint32_t offset_;
  NodeId first_sentinel_;
  int64_t now_;
  size_t size_ = 0;
};

}  // namespace larder
