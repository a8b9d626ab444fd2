// A registered warming task: validation, and running it once against a cache.
#pragma once

#ifndef LARDER_INTERNAL
#error "This is an internal larder header. Applications include <larder/...> public headers only."
#endif

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "larder/cache.h"
#include "larder/source.h"
#include "larder/status.h"
#include "larder/warmer.h"

namespace larder::loaders {

// Either kind of task. Everything but the written keys is constant after registration, so runs
// share tasks without locking; replacing a task registers a new object.
class WarmerTask {
 public:
  // InvalidArgument naming the key and the offending value.
  static Result<std::shared_ptr<WarmerTask>> From(WarmTask task);
  static Result<std::shared_ptr<WarmerTask>> From(SourceWarmTask task);

  // Fetches and writes. Never throws: an exception becomes an Internal status.
  Status Run(Cache& cache) const;

  // The keys to check for expiry: the key of a fetcher task; the keys a source task wrote on
  // its last successful run, or nullopt before it has had one.
  std::optional<std::vector<std::string>> Keys() const;

  WarmTaskInfo Info() const;
  const std::string& key() const { return key_; }
  const std::string& category() const { return category_; }
  int priority() const { return priority_; }
  uint64_t seq() const { return seq_; }
  void set_seq(uint64_t seq) { seq_ = seq; }  // REQUIRES: before the task is shared

 private:
  WarmerTask() = default;
  Status RunFetcher(Cache& cache) const;
  Status RunSource(Cache& cache) const;

  // Constant after registration.
  std::string key_;
  std::string category_;
  int priority_ = 0;
  uint64_t seq_ = 0;  // registration order: breaks priority ties
  WriteOptions write_;
  Fetcher fetcher_;                 // fetcher tasks
  std::shared_ptr<Source> source_;  // source tasks (non-null marks one)
  SourceQuery query_;
  RowKeyFn row_key_;
  RowValueFn row_value_;

  // Changed by runs, which may overlap.
  mutable std::mutex mu_;
  mutable std::optional<std::vector<std::string>> written_;  // guarded by mu_
};

}  // namespace larder::loaders
