// Helpers shared by the coord tests and their contracts (the *_contract.h headers): opening an
// object or failing the test, and waiting, with a generous bound, for what another thread does
// within milliseconds. Nothing here sleeps for time to pass.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "larder/clock.h"
#include "larder/status.h"

namespace larder::testing {

inline constexpr Duration kSec = std::chrono::seconds(1);
inline constexpr auto kPatience = std::chrono::seconds(10);  // for events that come in ms

// The object a factory opened; fails the test when it could not.
template <typename T>
std::unique_ptr<T> Opened(Result<std::unique_ptr<T>> opened) {
  REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
  return std::move(*opened);
}

// Waits (yielding) until `done()` holds, which another thread makes true within milliseconds;
// false after kPatience.
template <typename Fn>
bool Eventually(Fn&& done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Values recorded by other threads (handlers, callbacks); may be waited on.
template <typename T>
class Recorded {
 public:
  void Add(T value) {
    std::lock_guard lock(mu_);
    items_.push_back(std::move(value));
    cv_.notify_all();
  }
  // Whether `n` values have come within kPatience.
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return items_.size() >= n; });
  }
  std::vector<T> items() const {
    std::lock_guard lock(mu_);
    return items_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<T> items_;
};

}  // namespace larder::testing
