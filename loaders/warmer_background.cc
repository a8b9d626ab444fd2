// BackgroundLoop: waiting on a Clock that tests move by hand, without sleeping in tests.
#include "loaders/warmer_background.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

namespace larder::loaders {
namespace {

// Longest single wait: bounds the real-time deadline condition_variable computes, which would
// overflow for huge intervals. The loop re-reads the clock and waits again.
constexpr Duration kMaxWait = std::chrono::hours(1);

int64_t SaturatingAdd(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

}  // namespace

BackgroundLoop::BackgroundLoop(std::shared_ptr<Clock> clock, Duration interval,
                               std::function<void()> pass)
    : clock_(std::move(clock)), interval_(interval), pass_(std::move(pass)) {
  // The first deadline is read here, not on the new thread, so a test that advances a manual
  // clock right after starting cannot move it.
  due_ = SaturatingAdd(clock_->NowNanos(), interval_.count());
  thread_ = std::thread([this] { Loop(); });
  loop_id_ = thread_.get_id();
}

BackgroundLoop::~BackgroundLoop() { Stop(); }

void BackgroundLoop::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  std::lock_guard join_lock(join_mu_);
  if (thread_.joinable()) thread_.join();
}

void BackgroundLoop::Wake() {
  if (std::this_thread::get_id() == loop_id_) return;  // a pass waking itself
  std::unique_lock lock(mu_);
  if (exited_) return;
  const uint64_t mine = ++wakes_requested_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return wakes_answered_ >= mine || exited_; });
}

void BackgroundLoop::Loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    // Wakes requested before this clock read are answered by it (and by the pass it may start).
    const uint64_t seen = wakes_requested_;
    const int64_t now = clock_->NowNanos();
    if (now >= due_) {
      lock.unlock();
      pass_();
      lock.lock();
      due_ = SaturatingAdd(clock_->NowNanos(), interval_.count());
      continue;
    }
    wakes_answered_ = seen;
    cv_.notify_all();
    const Duration wait = std::min(Duration(due_ - now), kMaxWait);
    cv_.wait_for(lock, wait, [&] { return stopping_ || wakes_requested_ != seen; });
  }
  exited_ = true;
  wakes_answered_ = wakes_requested_;
  cv_.notify_all();
}

}  // namespace larder::loaders
