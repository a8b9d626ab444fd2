// BulkUpsert: applies a long stream of rows (a full sync, a JSON import) to a RecordCache.
//
// Faster than one UpsertRow per row in two ways. Rows go in batches whose table lines are
// prefetched a few rows ahead, so the cache misses of neighbouring rows overlap instead of
// queueing. And on a machine with more than one core a helper thread applies batches while the
// producer keeps reading its source; when the helper falls behind the producer applies the
// oldest waiting batch itself, so neither thread idles while there is work.
//
// Order: rows are applied in any order, except that a row whose primary key was added before
// waits until everything added before it is applied, so the last version of a key wins.
//
// Thread safety: one producer thread calls Add and Finish.
#pragma once

#include "base/private.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "engine/fingerprint_set.h"
#include "engine/record_cache_impl.h"

namespace larder {

class BulkUpsert {
 public:
  // `origin`: a sync's rows or direct writes (an import). `parallel`: allow the helper thread
  // (ignored on a single-core machine). `seed` seeds the primary-key fingerprints (fresh per
  // use, see fingerprint_set.h).
  BulkUpsert(RecordCacheImpl* impl, RecordCacheImpl::Origin origin, bool parallel, uint64_t seed);
  ~BulkUpsert();
  BulkUpsert(const BulkUpsert&) = delete;
  BulkUpsert& operator=(const BulkUpsert&) = delete;

  // Queues `row`, stored with `deadline` (monotonic ns) or, without one, the cache's ttl.
  // Returns the first error an apply met so far; the producer stops then.
  Status Add(Record row, std::optional<int64_t> deadline = std::nullopt);
  // Applies everything queued and stops the helper. Returns the first error.
  Status Finish();
  // Fingerprints of the primary keys added.
  const internal::FingerprintSet& seen() const noexcept { return seen_; }

 private:
  struct Item {
    Record row;
    RecordCacheImpl::RowKeys keys;
    std::optional<int64_t> deadline;
  };
  using Batch = std::vector<Item>;
  static constexpr size_t kBatchRows = 256;
  static constexpr size_t kMaxQueued = 2;  // beyond this the producer applies batches too
  static constexpr size_t kPrefetchAhead = 4;

  void Submit();
  void Drain();
  void Apply(Batch& batch);
  void HelperLoop();
  Status FirstError();

  RecordCacheImpl* const impl_;
  const RecordCacheImpl::Origin origin_;
  const bool parallel_;
  internal::FingerprintSet seen_;
  Batch current_;

  std::mutex mu_;
  std::condition_variable work_cv_;  // a batch was queued, or closing
  std::condition_variable done_cv_;  // a batch finished
  std::deque<Batch> queue_;          // guarded by mu_
  size_t in_flight_ = 0;             // batches being applied; guarded by mu_
  bool closed_ = false;              // guarded by mu_
  Status error_;                     // guarded by mu_
  std::thread helper_;
};

}  // namespace larder
