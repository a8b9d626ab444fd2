// The LockService contract (larder/coord.h), written once and run against the in-process locks
// (locks_test.cc) and the Redis ones (redis_locks_test.cc). How a ttl passes differs: the local
// service's ManualClock moves, the Redis key is expired through a raw connection; the contract
// takes that as a hook.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "coord_testing.h"
#include "larder/coord.h"

namespace larder::contract {

// One holder at a time; only the holder's token releases the lock, once.
inline void OneHolderAtATime(LockService& locks) {
  using testing::kSec;
  Result<std::optional<std::string>> a = locks.AcquireLock("invoice:7", 30 * kSec);
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->size() == 32);
  CHECK_FALSE(locks.AcquireLock("invoice:7", 30 * kSec)->has_value());
  CHECK(locks.AcquireLock("invoice:8", 30 * kSec)->has_value());  // other keys are free
  CHECK_FALSE(*locks.ReleaseLock("invoice:7", "0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(*locks.ReleaseLock("invoice:7", ""));
  CHECK_FALSE(locks.AcquireLock("invoice:7", 30 * kSec)->has_value());  // still held
  CHECK(*locks.ReleaseLock("invoice:7", **a));
  CHECK_FALSE(*locks.ReleaseLock("invoice:7", **a));  // released once
  CHECK_FALSE(*locks.ReleaseLock("never-held", **a));
  CHECK(locks.AcquireLock("invoice:7", 30 * kSec)->has_value());
}

// "job" is held by `first`; `expire()` lets its ttl pass (the holder is presumed dead). The stale
// token then neither extends nor releases, and cannot free the new holder; ttls must be positive.
inline void ExpiredLockIsTakenOver(LockService& locks, const std::string& first,
                                   const std::function<void()>& expire) {
  using testing::kSec;
  CHECK_FALSE(locks.AcquireLock("job", 10 * kSec)->has_value());
  expire();
  CHECK_FALSE(*locks.ExtendLock("job", first, 10 * kSec));
  CHECK_FALSE(*locks.ReleaseLock("job", first));
  const std::string second = **locks.AcquireLock("job", 10 * kSec);
  CHECK(second != first);
  CHECK_FALSE(*locks.ReleaseLock("job", first));  // the stale token cannot free the new holder
  CHECK_FALSE(*locks.ExtendLock("job", first, 10 * kSec));
  CHECK(*locks.ReleaseLock("job", second));
  // A ttl under a millisecond still takes the lock (Redis rounds it up to 1 ms, never PX 0).
  CHECK(locks.AcquireLock("short", std::chrono::nanoseconds(1)).ok());
  CHECK(locks.AcquireLock("job", Duration::zero()).status().IsInvalidArgument());
  CHECK(locks.ExtendLock("job", second, -kSec).status().IsInvalidArgument());
}

// `tokens` acquires of distinct keys give distinct tokens; 4 threads making `tries` attempts
// each on one lock never hold it together.
inline void TokensDoNotRepeatAndHoldersNeverOverlap(LockService& locks, int tokens, int tries) {
  using testing::kSec;
  std::set<std::string> seen;
  for (int i = 0; i < tokens; ++i) {
    const std::string t = **locks.AcquireLock("k" + std::to_string(i), 60 * kSec);
    CHECK(seen.insert(t).second);
  }
  std::atomic<int> inside{0}, overlaps{0}, entered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < tries; ++i) {
        Result<std::optional<std::string>> token = locks.AcquireLock("critical", 60 * kSec);
        if (!token.ok() || !token->has_value()) continue;
        if (inside.fetch_add(1) != 0) ++overlaps;
        ++entered;
        inside.fetch_sub(1);
        (void)locks.ReleaseLock("critical", **token);  // checked by the next acquire
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(entered.load() > 0);
}

}  // namespace larder::contract
