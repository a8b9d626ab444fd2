// Redis locks: the LockService contract (locks_contract.h) on a throwaway server, the ttl as the
// key's, and one holder across processes. Expiry is the server's (PX); tests make a ttl pass by
// expiring the key in Redis directly (PEXPIREAT to a past time), which is what the server does
// when the ttl runs out.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>

#include "child_process.h"
#include "coord_testing.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "locks_contract.h"
#include "redis_fixture.h"

namespace larder {
namespace {

using testing::kSec;

std::unique_ptr<LockService> NewLocks(const testing::RedisFixture& redis) {
  return testing::Opened(NewRedisLockService(redis.options()));
}

}  // namespace

TEST_CASE("Locks (Redis): one holder at a time; release needs the holder's token") {
  testing::RedisFixture redis;
  if (!redis) return;
  contract::OneHolderAtATime(*NewLocks(redis));
}

TEST_CASE("Locks (Redis): the ttl is the key's; extend moves it; an expired lock is taken over") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto locks = NewLocks(redis);
  testing::RawRedis& raw = redis.raw();
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
  contract::ExpiredLockIsTakenOver(*locks, first, [&] { redis.ExpireNow("larder:lock:job"); });
}

TEST_CASE("Locks (Redis): tokens do not repeat; threads never hold a lock together") {
  testing::RedisFixture redis;
  if (!redis) return;
  contract::TokensDoNotRepeatAndHoldersNeverOverlap(*NewLocks(redis), /*tokens=*/300,
                                                    /*tries=*/200);
}

TEST_CASE("Locks (Redis): 2 processes x 2 threads never hold the lock together") {
  testing::RedisFixture redis;
  if (!redis) return;
  const std::string port = std::to_string(redis.port());
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
  testing::RawRedis raw(redis.port());
  CHECK(raw.Int({"GET", "test:value"}) == entered);
  CHECK(raw.Int({"GET", "test:inside"}) == 0);
}

}  // namespace larder
