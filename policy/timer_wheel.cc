// TimerWheel: bucket selection.
#include "policy/timer_wheel.h"

namespace larder {

TimerWheel::TimerWheel(NodeSpace space, uint32_t hook_offset, NodeId first_sentinel,
                       int64_t now) noexcept
    : space_(space), offset_(hook_offset), first_sentinel_(first_sentinel), now_(now) {
  for (size_t i = 0; i < kSentinelCount; ++i) {
    NodeList(space_, offset_, first_sentinel_ + static_cast<NodeId>(i)).Reset();
  }
}

NodeList TimerWheel::Bucket(int level, int index) const noexcept {
  return NodeList(space_, offset_, first_sentinel_ + static_cast<NodeId>(level * kBuckets + index));
}

void TimerWheel::Schedule(NodeId node, int64_t deadline) noexcept {
  if (Scheduled(node)) {
    Bucket(0, 0).Unlink(node);
    --size_;
  }
  int64_t delta = deadline - now_;
  int level = 0;
  while (level < kLevels - 1 && delta >= (int64_t{1} << Shift(level + 1))) ++level;
  if (level == kLevels - 1) {
    // Beyond the top level's reach (146 years): park in its farthest bucket.
    const int64_t reach = (int64_t{kBuckets} - 1) << Shift(level);
    if (delta > reach) deadline = now_ + reach;
  }
  int64_t ticks = deadline >> Shift(level);
  // A deadline inside the current level-0 tick (or past) fires at the next tick: the current
  // tick's bucket has already been drained.
  const int64_t now_ticks = now_ >> Shift(level);
  if (ticks <= now_ticks) ticks = now_ticks + 1;
  Bucket(level, static_cast<int>(ticks & (kBuckets - 1))).PushBack(node);
  ++size_;
}

void TimerWheel::Replace(NodeId old, int64_t old_deadline, NodeId fresh,
                         int64_t deadline) noexcept {
  if (Scheduled(old) && deadline >= old_deadline) {
    Bucket(0, 0).ReplaceWith(old, fresh);
    return;
  }
  Cancel(old);
  Schedule(fresh, deadline);
}

void TimerWheel::Cancel(NodeId node) noexcept {
  if (!Scheduled(node)) return;
  Bucket(0, 0).Unlink(node);
  --size_;
}

}  // namespace larder
