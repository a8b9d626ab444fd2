// Mutex with clang thread-safety annotations, so GUARDED_BY members are checked at compile time.
#pragma once

#include "base/private.h"

#include <mutex>

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

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

}  // namespace larder
