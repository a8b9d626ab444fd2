// Executor: where larder runs background loads (GetWithStale refreshes). A seam: applications
// can share one pool between caches, tests can run tasks by hand.
//
// Thread safety: TrySubmit may be called from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

namespace larder {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` later, on some thread. Returns false when saturated; the task is then dropped
  // and the caller falls back (a stale value keeps serving). Must not run `task` inline.
  virtual bool TrySubmit(std::function<void()> task) = 0;
};

// A fixed pool of `threads` workers with a queue of at most `max_queue` waiting tasks.
// Destruction finishes running tasks, drops waiting ones and joins the workers.
std::shared_ptr<Executor> NewThreadPoolExecutor(size_t threads, size_t max_queue);

// Queues tasks until RunPending() runs them on the calling thread. For deterministic tests and
// for applications that drive loads from their own loop.
class ManualExecutor final : public Executor {
 public:
  bool TrySubmit(std::function<void()> task) override {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(task));
    return true;
  }
  // Runs queued tasks, including tasks they submit, until none is left. Returns how many ran.
  size_t RunPending() {
    size_t ran = 0;
    for (;;) {
      std::function<void()> task;
      {
        std::lock_guard lock(mu_);
        if (queue_.empty()) return ran;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
      ++ran;
    }
  }
  size_t pending() const {
    std::lock_guard lock(mu_);
    return queue_.size();
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace larder
