// InvalidationLog: the Invalidator's bounded history and its counters, including a sliding
// one-hour count kept in per-second buckets (exact to the second, fixed memory).
//
// Thread safety: none; the Invalidator serializes calls under its mutex.
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "larder/invalidator.h"

namespace larder::invalidation {

class InvalidationLog {
 public:
  static constexpr int64_t kWindowSeconds = 3600;

  explicit InvalidationLog(size_t history_capacity);

  // Records one call covering record.ids.size() events at record.time_nanos.
  void Add(InvalidationRecord record);
  // The newest `n` entries, newest first.
  std::vector<InvalidationRecord> Newest(size_t n) const;
  // The counters, with last_hour counting events in (now - 1 h, now] to the second.
  InvalidatorStats Stats(int64_t now_nanos) const;

 private:
  struct Bucket {
    int64_t second = INT64_MIN;  // which second the count belongs to; stale when older than 1 h
    uint64_t count = 0;
  };

  const size_t capacity_;
  std::deque<InvalidationRecord> history_;  // oldest first, at most capacity_
  InvalidatorStats totals_;                 // last_hour unused: computed from buckets_
  std::vector<Bucket> buckets_;             // kWindowSeconds buckets, by second modulo their count
};

}  // namespace larder::invalidation
