// BulkUpsert: batches, prefetching, and the helper thread.
#include "engine/record_bulk.h"

#include <algorithm>
#include <utility>

#include "base/epoch.h"

namespace larder {

BulkUpsert::BulkUpsert(RecordCacheImpl* impl, RecordCacheImpl::Origin origin, bool parallel,
                       uint64_t seed)
    : impl_(impl),
      origin_(origin),
      parallel_(parallel && std::thread::hardware_concurrency() > 1),
      seen_(seed) {
  current_.reserve(kBatchRows);
}

BulkUpsert::~BulkUpsert() { (void)Finish(); }

Status BulkUpsert::Add(Record row, std::optional<int64_t> deadline) {
  RecordCacheImpl::RowKeys keys = impl_->KeysOf(row);
  if (!seen_.Insert(keys.pk)) {
    // The key came before (or shares its fingerprint): everything earlier goes in first.
    Submit();
    Drain();
  }
  current_.push_back({std::move(row), std::move(keys), deadline});
  if (current_.size() == kBatchRows) Submit();
  return FirstError();
}

Status BulkUpsert::Finish() {
  Submit();
  Drain();
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  work_cv_.notify_all();
  if (helper_.joinable()) helper_.join();
  return FirstError();
}

void BulkUpsert::Submit() {
  if (current_.empty()) return;
  Batch batch;
  batch.reserve(kBatchRows);
  batch.swap(current_);
  if (!parallel_) {
    Apply(batch);
    return;
  }
  if (!helper_.joinable()) helper_ = std::thread([this] { HelperLoop(); });
  Batch mine;
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(batch));
    if (queue_.size() > kMaxQueued) {  // the helper is behind: take the oldest batch
      mine = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
  }
  work_cv_.notify_one();
  if (!mine.empty()) {
    Apply(mine);
    std::lock_guard lock(mu_);
    --in_flight_;
    done_cv_.notify_all();
  }
}

void BulkUpsert::Drain() {
  for (;;) {
    Batch mine;
    {
      std::unique_lock lock(mu_);
      if (queue_.empty()) {
        done_cv_.wait(lock, [&] { return in_flight_ == 0 && queue_.empty(); });
        return;
      }
      mine = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    Apply(mine);
    std::lock_guard lock(mu_);
    --in_flight_;
    done_cv_.notify_all();
  }
}

void BulkUpsert::HelperLoop() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return closed_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closed
      batch = std::move(queue_.front());
      queue_.pop_front();
      ++in_flight_;
    }
    Apply(batch);
    std::lock_guard lock(mu_);
    --in_flight_;
    done_cv_.notify_all();
  }
}

void BulkUpsert::Apply(Batch& batch) {
  {
    std::lock_guard lock(mu_);
    if (!error_.ok()) return;  // stopping: the producer sees the error on its next Add
  }
  Status failed;
  {
    epoch::Guard guard;  // prefetching reads the shards' current tables
    const size_t n = batch.size();
    for (size_t i = 0; i < std::min(kPrefetchAhead, n); ++i) impl_->PrefetchKeys(batch[i].keys);
    for (size_t i = 0; i < n && failed.ok(); ++i) {
      if (i + kPrefetchAhead < n) impl_->PrefetchKeys(batch[i + kPrefetchAhead].keys);
      failed = impl_->UpsertKeyed(batch[i].row, batch[i].keys, batch[i].deadline, origin_);
    }
  }
  impl_->FlushRemovals();  // entries evicted to make room, outside every lock
  if (!failed.ok()) {
    std::lock_guard lock(mu_);
    if (error_.ok()) error_ = failed;
  }
}

Status BulkUpsert::FirstError() {
  std::lock_guard lock(mu_);
  return error_;
}

}  // namespace larder
