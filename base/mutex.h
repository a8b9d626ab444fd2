// Mutexes with clang thread-safety annotations, so GUARDED_BY members are checked at compile
// time: Mutex (blocking, for long or rare critical sections) and SpinMutex (for the shards'
// sub-microsecond critical sections).
#pragma once

#include "base/private.h"

#include <atomic>
#include <mutex>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(__clang__)
#define LARDER_TSA(x) __attribute__((x))
#else
#define LARDER_TSA(x)
#endif

#define CAPABILITY(x) LARDER_TSA(capability(x))
#define SCOPED_CAPABILITY LARDER_TSA(scoped_lockable)
#define GUARDED_BY(x) LARDER_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) LARDER_TSA(pt_guarded_by(x))
#define REQUIRES(...) LARDER_TSA(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) LARDER_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) LARDER_TSA(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) LARDER_TSA(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) LARDER_TSA(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS LARDER_TSA(no_thread_safety_analysis)

namespace larder {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  bool TryLock() TRY_ACQUIRE(true) { return mu_.try_lock(); }
  // Tells the analysis the lock is held (inside lambdas, which it cannot see through).
  void AssertHeld() const LARDER_TSA(assert_capability(this)) {}
  // For std::condition_variable_any and std::unique_lock.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// A test-and-test-and-set lock: spins with pause, then yields. Shard critical sections last
// about 100 ns; parking a waiter in the kernel (as std::mutex does at once) costs microseconds
// and a context switch, which is what made two writers slower than one. Uncontended lock and
// unlock are one exchange and one plain store.
class CAPABILITY("mutex") SpinMutex {
 public:
  void Lock() ACQUIRE() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    LockSlow();
  }
  void Unlock() RELEASE() { locked_.store(false, std::memory_order_release); }
  bool TryLock() TRY_ACQUIRE(true) {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void AssertHeld() const LARDER_TSA(assert_capability(this)) {}

 private:
  static void Pause() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  void LockSlow() {
    for (int spins = 0;; ++spins) {
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      if (spins < 128) {
        Pause();
      } else {
        std::this_thread::yield();  // the holder may be descheduled: give it the core
      }
    }
  }

  std::atomic<bool> locked_{false};
};

template <typename M>
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(M& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  M& mu_;
};

}  // namespace larder
