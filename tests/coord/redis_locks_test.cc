// Redis locks: one holder across threads and processes, token-checked release and extend, and
// expiry. Expiry is the server's (PX); tests make a ttl pass by expiring the key in Redis
// directly (PEXPIREAT to a past time), which is what the server does when the ttl runs out.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_server.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);

std::unique_ptr<LockService> NewLocks(const testing::RedisServer& server) {
  Result<std::unique_ptr<LockService>> locks = NewRedisLockService(server.options());
  REQUIRE(locks.ok());
  return *std::move(locks);
}

// What the server does when a lock's ttl passes.
void ExpireNow(testing::RawRedis& raw, std::string_view key) {
  REQUIRE(raw.Int({"PEXPIREAT", key, "1"}) == 1);
  REQUIRE(raw.Int({"EXISTS", key}) == 0);
}

}  // namespace

TEST_CASE("RedisLocks: one holder at a time; release needs the holder's token") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto locks = NewLocks(*server);
  Result<std::optional<std::string>> a = locks->AcquireLock("invoice:7", 30 * kSec);
  REQUIRE(a.ok());
  REQUIRE(a->has_value());
  CHECK((*a)->size() == 32);
  CHECK_FALSE(locks->AcquireLock("invoice:7", 30 * kSec)->has_value());
  CHECK(locks->AcquireLock("invoice:8", 30 * kSec)->has_value());  // other keys are free
  CHECK_FALSE(*locks->ReleaseLock("invoice:7", "0123456789abcdef0123456789abcdef"));
  CHECK_FALSE(*locks->ReleaseLock("invoice:7", ""));
  CHECK_FALSE(locks->AcquireLock("invoice:7", 30 * kSec)->has_value());  // still held
  CHECK(*locks->ReleaseLock("invoice:7", **a));
  CHECK_FALSE(*locks->ReleaseLock("invoice:7", **a));  // released once
  CHECK_FALSE(*locks->ReleaseLock("never-held", **a));
  CHECK(locks->AcquireLock("invoice:7", 30 * kSec)->has_value());
}

TEST_CASE("RedisLocks: the ttl is the key's; extend moves it; an expired lock can be taken over") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto locks = NewLocks(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  const std::string first = **locks->AcquireLock("job", 10 * kSec);
  CHECK(raw.Run({"GET", "larder:lock:job"}) == first);
  long long ttl = raw.Int({"PTTL", "larder:lock:job"});
  CHECK(ttl > 5'000);
  CHECK(ttl <= 10'000);
  CHECK(*locks->ExtendLock("job", first, 60 * kSec));
  ttl = raw.Int({"PTTL", "larder:lock:job"});
  CHECK(ttl > 55'000);
  CHECK(ttl <= 60'000);
  CHECK_FALSE(*locks->ExtendLock("job", "0123456789abcdef0123456789abcdef", 90 * kSec));
  CHECK(raw.Int({"PTTL", "larder:lock:job"}) <= 60'000);  // a wrong token moved nothing
  CHECK_FALSE(locks->AcquireLock("job", 10 * kSec)->has_value());

  ExpireNow(raw, "larder:lock:job");  // the holder is presumed dead
  CHECK_FALSE(*locks->ExtendLock("job", first, 10 * kSec));
  CHECK_FALSE(*locks->ReleaseLock("job", first));
  const std::string second = **locks->AcquireLock("job", 10 * kSec);
  CHECK(second != first);
  CHECK_FALSE(*locks->ReleaseLock("job", first));  // the stale token cannot free the new holder
  CHECK_FALSE(*locks->ExtendLock("job", first, 10 * kSec));
  CHECK(*locks->ReleaseLock("job", second));

  // A ttl under a millisecond still takes the lock (rounded up to 1 ms, never PX 0).
  CHECK(locks->AcquireLock("short", std::chrono::nanoseconds(1)).ok());
  CHECK(locks->AcquireLock("job", Duration::zero()).status().IsInvalidArgument());
  CHECK(locks->ExtendLock("job", second, -kSec).status().IsInvalidArgument());
}

TEST_CASE("RedisLocks: tokens do not repeat; threads never hold a lock together") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto locks = NewLocks(*server);
  std::set<std::string> tokens;
  for (int i = 0; i < 300; ++i) {
    const std::string t = **locks->AcquireLock("k" + std::to_string(i), 60 * kSec);
    CHECK(tokens.insert(t).second);
  }
  std::atomic<int> inside{0}, overlaps{0}, entered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        Result<std::optional<std::string>> token = locks->AcquireLock("critical", 60 * kSec);
        if (!token.ok() || !token->has_value()) continue;
        if (inside.fetch_add(1) != 0) ++overlaps;
        ++entered;
        inside.fetch_sub(1);
        (void)locks->ReleaseLock("critical", **token);  // checked by the next acquire
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(overlaps.load() == 0);
  CHECK(entered.load() > 0);
}

TEST_CASE("RedisLocks: 2 processes x 2 threads never hold the lock together") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  const std::string port = std::to_string(server->port());
  testing::ChildProcess a("redis-lock", port, "300");
  testing::ChildProcess b("redis-lock", port, "300");
  int entered = 0;
  for (testing::ChildProcess* child : {&a, &b}) {
    int n = 0, overlaps = -1;
    CHECK(std::fscanf(child->out, "entered %d overlaps %d", &n, &overlaps) == 2);
    CHECK(overlaps == 0);
    CHECK(n > 0);
    const int status = child->Wait();
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    entered += n;
  }
  // Every holder added 1 by GET then SET: a second holder at the same time would lose updates.
  testing::RawRedis raw(server->port());
  CHECK(raw.Int({"GET", "test:value"}) == entered);
  CHECK(raw.Int({"GET", "test:inside"}) == 0);
}

}  // namespace larder
