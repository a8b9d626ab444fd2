// InvalidationLog: history ring and counters.
#include "policy/invalidation_log.h"

#include <utility>

namespace larder::invalidation {
namespace {

int64_t FloorSeconds(int64_t nanos) {
  constexpr int64_t kNanos = 1'000'000'000;
  return nanos >= 0 ? nanos / kNanos : -((-nanos + kNanos - 1) / kNanos);
}

}  // namespace

InvalidationLog::InvalidationLog(size_t history_capacity)
    : capacity_(history_capacity), buckets_(kWindowSeconds) {}

void InvalidationLog::Add(InvalidationRecord record) {
  const uint64_t events = record.ids.size();
  totals_.total += events;
  totals_.by_event[static_cast<size_t>(record.event)] += events;
  auto it = totals_.by_entity.find(record.entity);
  if (it == totals_.by_entity.end()) it = totals_.by_entity.emplace(record.entity, 0).first;
  it->second += events;
  totals_.keys_removed += record.keys_removed;

  const int64_t second = FloorSeconds(record.time_nanos);
  int64_t slot = second % kWindowSeconds;
  if (slot < 0) slot += kWindowSeconds;
  Bucket& b = buckets_[static_cast<size_t>(slot)];
  if (b.second != second) b = Bucket{second, 0};  // the slot's previous second is an hour old
  b.count += events;

  if (capacity_ == 0) return;
  if (history_.size() == capacity_) history_.pop_front();
  history_.push_back(std::move(record));
}

std::vector<InvalidationRecord> InvalidationLog::Newest(size_t n) const {
  std::vector<InvalidationRecord> out;
  const size_t count = n < history_.size() ? n : history_.size();
  out.reserve(count);
  for (auto it = history_.rbegin(); out.size() < count; ++it) out.push_back(*it);
  return out;
}

InvalidatorStats InvalidationLog::Stats(int64_t now_nanos) const {
  InvalidatorStats s = totals_;
  const int64_t now = FloorSeconds(now_nanos);
  s.last_hour = 0;
  for (const Bucket& b : buckets_) {
    if (b.second > now - kWindowSeconds && b.second <= now) s.last_hour += b.count;
  }
  return s;
}

}  // namespace larder::invalidation
