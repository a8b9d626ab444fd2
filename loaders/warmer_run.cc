// Warmer runs: choosing tasks, running them in order or in parallel, reporting and metrics.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "loaders/warmer_impl.h"
#include "loaders/warmer_pool.h"

namespace larder {

Status Warmer::Impl::CheckOptions(const WarmOptions& options) {
  if (options.parallel && options.max_parallel == 0) {
    return Status::InvalidArgument("max_parallel: must be at least 1");
  }
  return Status::OK();
}

std::vector<Warmer::Impl::TaskPtr> Warmer::Impl::Select(
    const std::function<bool(const loaders::WarmerTask&)>& keep) const {
  std::vector<TaskPtr> out;
  {
    std::lock_guard lock(mu);
    for (const auto& [key, task] : tasks) {
      if (keep(*task)) out.push_back(task);
    }
  }
  std::sort(out.begin(), out.end(), [](const TaskPtr& a, const TaskPtr& b) {
    if (a->priority() != b->priority()) return a->priority() > b->priority();
    return a->seq() < b->seq();
  });
  return out;
}

Result<WarmReport> Warmer::Impl::Run(const std::vector<TaskPtr>& selected,
                                     const WarmOptions& options, bool background) {
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  const int64_t start = clock->NowNanos();
  // One slot per task, each written by the one runner that ran it; read after all joined.
  std::vector<Status> results(selected.size());
  const auto job = [&](size_t i) { results[i] = selected[i]->Run(cache); };
  if (options.parallel) {
    loaders::RunBounded(selected.size(), options.max_parallel, job);
  } else {
    for (size_t i = 0; i < selected.size(); ++i) job(i);
  }
  const int64_t end = clock->NowNanos();

  WarmReport report;
  report.total = selected.size();
  for (size_t i = 0; i < selected.size(); ++i) {
    if (results[i].ok()) {
      ++report.succeeded;
    } else {
      ++report.failed;
      report.failures.push_back({selected[i]->key(), std::move(results[i])});
    }
  }
  report.total_time = Duration(end - start);
  report.started_at_millis = clock->ToWallMillis(start);
  report.completed_at_millis = clock->ToWallMillis(end);

  std::lock_guard lock(mu);
  metrics.total_tasks = report.total;
  metrics.successful_tasks = report.succeeded;
  metrics.failed_tasks = report.failed;
  metrics.total_time = report.total_time;
  metrics.started_at_millis = report.started_at_millis;
  metrics.completed_at_millis = report.completed_at_millis;
  ++metrics.runs;
  if (background) ++metrics.background_passes;
  return report;
}

Result<WarmReport> Warmer::Impl::RunExpiringSoon(Duration threshold, const WarmOptions& options,
                                                 bool background) {
  if (threshold.count() < 0) {
    return Status::InvalidArgument(fmt::format("threshold: {} ns is negative", threshold.count()));
  }
  const auto due = [&](const loaders::WarmerTask& task) {
    const std::optional<std::vector<std::string>> keys = task.Keys();
    if (!keys) return true;  // a source task that has never succeeded
    return std::any_of(keys->begin(), keys->end(), [&](const std::string& key) {
      const KeyTtl ttl = cache.Ttl(key);
      return !ttl.exists || (ttl.remaining && *ttl.remaining < threshold);
    });
  };
  // Filtered outside mu: a large source task means many cache lookups.
  std::vector<TaskPtr> selected = Select([](const loaders::WarmerTask&) { return true; });
  std::erase_if(selected, [&](const TaskPtr& task) { return !due(*task); });
  return Run(selected, options, background);
}

Result<WarmReport> Warmer::WarmAll(const WarmOptions& options) {
  return impl_->Run(impl_->Select([](const loaders::WarmerTask&) { return true; }), options, false);
}

Result<WarmReport> Warmer::WarmCategory(std::string_view category, const WarmOptions& options) {
  return impl_->Run(
      impl_->Select([&](const loaders::WarmerTask& t) { return t.category() == category; }),
      options, false);
}

Result<WarmReport> Warmer::WarmExpiringSoon(Duration threshold, const WarmOptions& options) {
  return impl_->RunExpiringSoon(threshold, options, false);
}

}  // namespace larder
