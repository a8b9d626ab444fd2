// Warming tasks: checking what an application registers, and running a task once.
#include "loaders/warmer_task.h"

#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace larder::loaders {
namespace {

// Runs `fn`, turning an exception into an Internal status naming `what`.
template <typename Fn>
Status Guarded(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::Internal(fmt::format("{} threw: {}", what, e.what()));
  } catch (...) {
    return Status::Internal(fmt::format("{} threw a non-standard exception", what));
  }
}

// The checks both kinds of task share. Messages name the task, then the value.
Status CheckCommon(const std::string& key, const std::optional<Duration>& ttl, int priority,
                   const std::string& category, const std::vector<std::string>& tags) {
  if (key.empty()) return Status::InvalidArgument("warm task: key is empty");
  if (key.size() > kMaxKeySize) {
    return Status::InvalidArgument(
        fmt::format("warm task key of {} bytes: more than {}", key.size(), kMaxKeySize));
  }
  if (priority < kMinWarmPriority || priority > kMaxWarmPriority) {
    return Status::InvalidArgument(fmt::format("warm task '{}': priority {} is outside {}..{}", key,
                                               priority, kMinWarmPriority, kMaxWarmPriority));
  }
  if (ttl && ttl->count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("warm task '{}': ttl {} ns is not positive", key, ttl->count()));
  }
  if (category.empty()) {
    return Status::InvalidArgument(fmt::format("warm task '{}': category is empty", key));
  }
  if (tags.size() > kMaxTags) {
    return Status::InvalidArgument(
        fmt::format("warm task '{}': {} tags, more than {}", key, tags.size(), kMaxTags));
  }
  for (const std::string& tag : tags) {
    if (tag.empty() || tag.size() > kMaxTagSize) {
      return Status::InvalidArgument(fmt::format(
          "warm task '{}': a tag of {} bytes (allowed 1..{})", key, tag.size(), kMaxTagSize));
    }
  }
  return Status::OK();
}

WriteOptions WriteOptionsFor(const std::optional<Duration>& ttl, std::vector<std::string> tags) {
  WriteOptions write;
  write.ttl = ttl;
  write.tags = std::move(tags);
  return write;
}

}  // namespace

Result<std::shared_ptr<WarmerTask>> WarmerTask::From(WarmTask task) {
  Status s = CheckCommon(task.key, task.ttl, task.priority, task.category, task.tags);
  if (!s.ok()) return s;
  if (!task.fetcher) {
    return Status::InvalidArgument(fmt::format("warm task '{}': fetcher is missing", task.key));
  }
  std::shared_ptr<WarmerTask> out(new WarmerTask());
  out->key_ = std::move(task.key);
  out->category_ = std::move(task.category);
  out->priority_ = task.priority;
  out->write_ = WriteOptionsFor(task.ttl, std::move(task.tags));
  out->fetcher_ = std::move(task.fetcher);
  return out;
}

Result<std::shared_ptr<WarmerTask>> WarmerTask::From(SourceWarmTask task) {
  Status s = CheckCommon(task.key, task.ttl, task.priority, task.category, task.tags);
  if (!s.ok()) return s;
  if (task.source == nullptr) {
    return Status::InvalidArgument(fmt::format("warm task '{}': source is missing", task.key));
  }
  if (!task.row_key) {
    return Status::InvalidArgument(fmt::format("warm task '{}': row_key is missing", task.key));
  }
  std::shared_ptr<WarmerTask> out(new WarmerTask());
  out->key_ = std::move(task.key);
  out->category_ = std::move(task.category);
  out->priority_ = task.priority;
  out->write_ = WriteOptionsFor(task.ttl, std::move(task.tags));
  out->source_ = std::move(task.source);
  out->query_ = task.query ? std::move(task.query) : AllRows();
  out->row_key_ = std::move(task.row_key);
  out->row_value_ = std::move(task.row_value);
  return out;
}

Status WarmerTask::Run(Cache& cache) const {
  if (source_ != nullptr) return RunSource(cache);
  return Guarded("fetcher", [&] { return RunFetcher(cache); });
}

Status WarmerTask::RunFetcher(Cache& cache) const {
  Result<std::string> value = fetcher_();
  if (!value.ok()) return value.status();
  return cache.Set(key_, *value, write_);
}

Status WarmerTask::RunSource(Cache& cache) const {
  std::vector<std::string> keys;
  // Exceptions from row_key and row_value are caught here, inside the sink, so that none
  // unwinds through the source's query code.
  const RowSink sink = [&](Record&& row) -> Status {
    std::string key;
    Status s = Guarded("row_key", [&] {
      key = row_key_(row);
      return Status::OK();
    });
    if (s.ok() && key.empty()) s = Status::InvalidArgument("row_key returned an empty key");
    std::string value;
    if (s.ok()) {
      s = Guarded("row_value", [&] {
        if (!row_value_) {
          value = row.ToJson();
          return Status::OK();
        }
        Result<std::string> v = row_value_(row);
        if (!v.ok()) return v.status();
        value = std::move(*v);
        return Status::OK();
      });
    }
    if (s.ok()) s = cache.Set(key, value, write_);
    if (!s.ok()) return s.WithContext("row " + row.primary_key().ToString());
    keys.push_back(std::move(key));
    return Status::OK();
  };
  Status s = Guarded("query", [&] { return query_(*source_, sink); });
  if (!s.ok()) return s.WithContext(fmt::format("source '{}'", source_->name()));
  std::lock_guard lock(mu_);
  written_ = std::move(keys);
  return Status::OK();
}

std::optional<std::vector<std::string>> WarmerTask::Keys() const {
  if (source_ == nullptr) return std::vector<std::string>{key_};
  std::lock_guard lock(mu_);
  return written_;
}

WarmTaskInfo WarmerTask::Info() const {
  return {.key = key_,
          .category = category_,
          .priority = priority_,
          .ttl = write_.ttl,
          .from_source = source_ != nullptr};
}

}  // namespace larder::loaders
