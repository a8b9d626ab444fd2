// The default Executor: a fixed pool of workers over a bounded queue.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "larder/advanced/executor.h"

namespace larder {
namespace {

class ThreadPool final : public Executor {
 public:
  ThreadPool(size_t threads, size_t max_queue) : max_queue_(max_queue) {
    workers_.reserve(threads);
    for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~ThreadPool() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      queue_.clear();
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
  }

  bool TrySubmit(std::function<void()> task) override {
    {
      std::lock_guard lock(mu_);
      if (stopping_ || queue_.size() >= max_queue_) return false;
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
    return true;
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        task = std::move(queue_.front());
        queue_.pop_front();
      }
      task();
    }
  }

  const size_t max_queue_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace

std::shared_ptr<Executor> NewThreadPoolExecutor(size_t threads, size_t max_queue) {
  return std::make_shared<ThreadPool>(threads == 0 ? 1 : threads, max_queue == 0 ? 1 : max_queue);
}

}  // namespace larder
