// The background warming thread: a pass every interval of a Clock, woken early on request.
#pragma once

#ifndef LARDER_INTERNAL
#error "This is an internal larder header. Applications include <larder/...> public headers only."
#endif

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "larder/clock.h"

namespace larder::loaders {

// Runs `pass` on its own thread whenever `interval` has passed on `clock` since the previous
// pass ended (the first one interval after construction). The thread waits on a condition
// variable for the remaining time; a clock that does not advance in real time (ManualClock) is
// re-read when Wake() is called.
class BackgroundLoop {
 public:
  // Starts the thread; throws std::system_error when it cannot. REQUIRES: interval > 0.
  BackgroundLoop(std::shared_ptr<Clock> clock, Duration interval, std::function<void()> pass);
  // Stop().
  ~BackgroundLoop();
  BackgroundLoop(const BackgroundLoop&) = delete;
  BackgroundLoop& operator=(const BackgroundLoop&) = delete;

  // Ends the thread, waiting for a pass in progress. Idempotent. REQUIRES: not on the thread.
  void Stop();
  // Has the thread read the clock and run any pass due by now; returns when it has. No-op on
  // the loop's own thread or once stopped.
  void Wake();

 private:
  void Loop();

  // Constant after construction.
  const std::shared_ptr<Clock> clock_;
  const Duration interval_;
  const std::function<void()> pass_;

  std::mutex mu_;
  std::condition_variable cv_;  // the loop waits on it for time or a wake; Wake() for the loop
  bool stopping_ = false;       // guarded by mu_
  bool exited_ = false;         // guarded by mu_
  int64_t due_ = 0;             // guarded by mu_: clock time of the next pass
  // Wake() numbers its requests; the loop reports the last one it has answered. Guarded by mu_.
  uint64_t wakes_requested_ = 0;
  uint64_t wakes_answered_ = 0;

  std::mutex join_mu_;       // serializes Stop()'s join
  std::thread thread_;       // guarded by join_mu_ after construction; started in the constructor
  std::thread::id loop_id_;  // constant after construction: thread_'s id, read by Wake()
};

}  // namespace larder::loaders
