// Warmer: registering and listing tasks, metrics, background warming.
#include "larder/warmer.h"

#include <exception>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "loaders/warmer_impl.h"

namespace larder {
namespace {

std::shared_ptr<Clock> ClockFor(const Cache& cache, const WarmerOptions& options) {
  if (options.clock != nullptr) return options.clock;
  if (cache.options().clock != nullptr) return cache.options().clock;
  return SystemClock();
}

}  // namespace

Warmer::Warmer(Cache& cache, WarmerOptions options)
    : impl_(std::make_unique<Impl>(cache, ClockFor(cache, options))) {}

Warmer::~Warmer() { StopBackgroundWarming(); }

void Warmer::Impl::Insert(std::vector<std::shared_ptr<loaders::WarmerTask>> added) {
  std::lock_guard lock(mu);
  for (std::shared_ptr<loaders::WarmerTask>& task : added) {
    task->set_seq(next_seq++);
    std::string key = task->key();
    tasks.insert_or_assign(std::move(key), std::move(task));
  }
}

Status Warmer::Register(WarmTask task) {
  Result<std::shared_ptr<loaders::WarmerTask>> made = loaders::WarmerTask::From(std::move(task));
  if (!made.ok()) return made.status();
  impl_->Insert({std::move(*made)});
  return Status::OK();
}

Status Warmer::RegisterBatch(std::vector<WarmTask> tasks) {
  std::vector<std::shared_ptr<loaders::WarmerTask>> made;
  made.reserve(tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) {
    Result<std::shared_ptr<loaders::WarmerTask>> one =
        loaders::WarmerTask::From(std::move(tasks[i]));
    if (!one.ok()) return one.status().WithContext(fmt::format("batch item {}", i));
    made.push_back(std::move(*one));
  }
  impl_->Insert(std::move(made));
  return Status::OK();
}

Status Warmer::RegisterSource(SourceWarmTask task) {
  Result<std::shared_ptr<loaders::WarmerTask>> made = loaders::WarmerTask::From(std::move(task));
  if (!made.ok()) return made.status();
  impl_->Insert({std::move(*made)});
  return Status::OK();
}

bool Warmer::Unregister(std::string_view key) {
  std::lock_guard lock(impl_->mu);
  const auto it = impl_->tasks.find(key);
  if (it == impl_->tasks.end()) return false;
  impl_->tasks.erase(it);
  return true;
}

size_t Warmer::task_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->tasks.size();
}

std::vector<WarmTaskInfo> Warmer::ListTasks(std::string_view category) const {
  std::vector<WarmTaskInfo> out;
  for (const Impl::TaskPtr& task : impl_->Select([&](const loaders::WarmerTask& t) {
         return category.empty() || t.category() == category;
       })) {
    out.push_back(task->Info());
  }
  return out;
}

std::map<std::string, size_t> Warmer::CountTasksByCategory() const {
  std::map<std::string, size_t> out;
  std::lock_guard lock(impl_->mu);
  for (const auto& [key, task] : impl_->tasks) ++out[task->category()];
  return out;
}

WarmMetrics Warmer::GetMetrics() const {
  std::lock_guard lock(impl_->mu);
  return impl_->metrics;
}

Status Warmer::StartBackgroundWarming(Duration interval, BackgroundWarmingOptions options) {
  if (interval.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("interval: {} ns is not positive", interval.count()));
  }
  if (options.expiring_within && options.expiring_within->count() < 0) {
    return Status::InvalidArgument("expiring_within: must not be negative");
  }
  Status s = Impl::CheckOptions(options.warm);
  if (!s.ok()) return s.WithContext("warm");

  std::lock_guard lock(impl_->bg_mu);
  if (impl_->background != nullptr) {
    return Status::FailedPrecondition("background warming is already running");
  }
  Impl* impl = impl_.get();
  auto pass = [impl, options = std::move(options)] {
    // Options were checked above, so a pass cannot fail as a whole; task failures are in
    // the report and the metrics.
    Result<WarmReport> report =
        options.expiring_within
            ? impl->RunExpiringSoon(*options.expiring_within, options.warm, true)
            : impl->Run(impl->Select([](const loaders::WarmerTask&) { return true; }), options.warm,
                        true);
    if (!report.ok() || !options.on_pass) return;
    try {
      options.on_pass(*report);
    } catch (...) {
      // A failing logging hook must not end background warming; the pass itself is recorded.
    }
  };
  try {
    impl_->background =
        std::make_shared<loaders::BackgroundLoop>(impl_->clock, interval, std::move(pass));
  } catch (const std::system_error& e) {
    return Status::ResourceExhausted(
        fmt::format("cannot start the background warming thread: {}", e.what()));
  }
  return Status::OK();
}

void Warmer::StopBackgroundWarming() {
  std::shared_ptr<loaders::BackgroundLoop> loop;
  {
    std::lock_guard lock(impl_->bg_mu);
    loop = std::move(impl_->background);
  }
  // Joined outside bg_mu, so a pass that asks background_running() cannot deadlock with us.
  if (loop != nullptr) loop->Stop();
}

bool Warmer::background_running() const {
  std::lock_guard lock(impl_->bg_mu);
  return impl_->background != nullptr;
}

void Warmer::WakeBackgroundWarming() {
  std::shared_ptr<loaders::BackgroundLoop> loop;
  {
    std::lock_guard lock(impl_->bg_mu);
    loop = impl_->background;
  }
  if (loop != nullptr) loop->Wake();
}

}  // namespace larder
