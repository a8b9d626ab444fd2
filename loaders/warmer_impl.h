// Warmer's state, shared by the files that implement it (registration, runs, background).
#pragma once

#ifndef LARDER_INTERNAL
#error "This is an internal larder header. Applications include <larder/...> public headers only."
#endif

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/status.h"
#include "larder/warmer.h"
#include "loaders/warmer_background.h"
#include "loaders/warmer_task.h"

namespace larder {

struct Warmer::Impl {
  using TaskPtr = std::shared_ptr<const loaders::WarmerTask>;

  Impl(Cache& c, std::shared_ptr<Clock> clk) : cache(c), clock(std::move(clk)) {}

  // Adds validated tasks, replacing same-keyed ones, numbering them in order.
  void Insert(std::vector<std::shared_ptr<loaders::WarmerTask>> added);
  // The registered tasks `keep` accepts, in run order: priority (high first), then registration.
  std::vector<TaskPtr> Select(const std::function<bool(const loaders::WarmerTask&)>& keep) const;
  // Runs `selected` as `options` say and records the run in the metrics.
  Result<WarmReport> Run(const std::vector<TaskPtr>& selected, const WarmOptions& options,
                         bool background);
  // InvalidArgument naming the offending field.
  static Status CheckOptions(const WarmOptions& options);
  // WarmExpiringSoon's work; `background` marks a background pass in the metrics.
  Result<WarmReport> RunExpiringSoon(Duration threshold, const WarmOptions& options,
                                     bool background);

  // Constant after construction.
  Cache& cache;
  const std::shared_ptr<Clock> clock;

  mutable std::mutex mu;
  std::map<std::string, TaskPtr, std::less<>> tasks;  // guarded by mu
  uint64_t next_seq = 0;                              // guarded by mu
  WarmMetrics metrics;                                // guarded by mu

  // Shared so that WakeBackgroundWarming can wait on the loop without holding bg_mu, which a
  // concurrent Stop needs; Stop joins the thread itself.
  mutable std::mutex bg_mu;
  std::shared_ptr<loaders::BackgroundLoop> background;  // guarded by bg_mu
};

}  // namespace larder
