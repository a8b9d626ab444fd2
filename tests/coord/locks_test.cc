// Local locks: one holder, token-checked release and extend, expiry frees a dead holder's lock.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "larder/coord.h"

namespace larder {
namespace {
constexpr Duration kSec = std::chrono::seconds(1);
}  // namespace

TEST_CASE("Locks: one holder at a time; release needs the holder's token") {
  auto clock = std::make_shared<ManualClock>();
  auto locks = NewLocalLockService(clock);
  Result<std::optional<std::string>> a = locks->AcquireLock("invoice:7", 30 * kSec);
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->size() == 32);
  CHECK_FALSE(locks->AcquireLock("invoice:7", 30 * kSec)->has_value());
  CHECK(locks->AcquireLock("invoice:8", 30 * kSec)->has_value());  // other keys are free
  CHECK_FALSE(*locks->ReleaseLock("invoice:7", "0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(locks->AcquireLock("invoice:7", 30 * kSec)->has_value());  // still held
  CHECK(*locks->ReleaseLock("invoice:7", **a));
  CHECK_FALSE(*locks->ReleaseLock("invoice:7", **a));  // released once
  CHECK(locks->AcquireLock("invoice:7", 30 * kSec)->has_value());
}

TEST_CASE("Locks: expiry frees a lock; extend keeps it; a stale token cannot release a new holder") {
  auto clock = std::make_shared<ManualClock>();
  auto locks = NewLocalLockService(clock);
  const std::string first = **locks->AcquireLock("job", 10 * kSec);
  clock->Advance(8 * kSec);
  CHECK(*locks->ExtendLock("job", first, 10 * kSec));  // now until 18 s
  clock->Advance(8 * kSec);
  CHECK_FALSE(locks->AcquireLock("job", 10 * kSec)->has_value());
  clock->Advance(3 * kSec);  // 19 s: expired, the holder is presumed dead
  CHECK_FALSE(*locks->ExtendLock("job", first, 10 * kSec));
  const std::string second = **locks->AcquireLock("job", 10 * kSec);
  CHECK(second != first);
  CHECK_FALSE(*locks->ReleaseLock("job", first));
  CHECK(*locks->ReleaseLock("job", second));
  CHECK(locks->AcquireLock("job", Duration::zero()).status().IsInvalidArgument());
  CHECK(locks->ExtendLock("job", second, -kSec).status().IsInvalidArgument());
}

TEST_CASE("Locks: tokens do not repeat; threads never hold a lock together") {
  auto locks = NewLocalLockService();
  std::set<std::string> tokens;
  for (int i = 0; i < 1000; ++i) {
    const std::string t = **locks->AcquireLock("k" + std::to_string(i), 60 * kSec);
    CHECK(tokens.insert(t).second);
  }
  std::atomic<int> inside{0}, overlaps{0}, entered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        Result<std::optional<std::string>> token = locks->AcquireLock("critical", 60 * kSec);
        if (!token.ok() || !token->has_value()) continue;
        if (inside.fetch_add(1) != 0) ++overlaps;
        ++entered;
        inside.fetch_sub(1);
        (void)locks->ReleaseLock("critical", **token);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(entered.load() > 0);
}

}  // namespace larder
