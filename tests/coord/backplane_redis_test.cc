// Backplane over a real redis-server: two instances, each with its own connections (as two
// processes have), invalidations crossing over, and a server stopped and restarted.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "larder/backplane.h"
#include "larder/cache.h"
#include "child_process.h"
#include "redis_server.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);

// One instance: a cache on a manual clock and its backplane; waits for events, never sleeps.
struct Instance {
  Instance(const RedisOptions& redis, ResyncMode mode = ResyncMode::kMarkStale) {
    CacheOptions o;
    o.clock = std::make_shared<ManualClock>();
    o.maintenance_interval = Duration::zero();
    Result<std::unique_ptr<Cache>> c = Cache::Open(std::move(o));
    REQUIRE(c.ok());
    cache = std::move(*c);
    removals = cache->Subscribe(
        [this](const CacheEvent& ev) {
          if (!ev.remote) return;
          std::lock_guard lock(mu);
          ++remote_removals;
          cv.notify_all();
        },
        EventBit(EventType::kDelete) | EventBit(EventType::kClear));
    Result<std::unique_ptr<Backplane>> p =
        Backplane::Connect(*cache, redis,
                           {.name = "users", .resync = mode, .on_resync = [this](ResyncReason r) {
                              std::lock_guard lock(mu);
                              if (r == ResyncReason::kReconnected) ++reconnect_resyncs;
                              cv.notify_all();
                            }});
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    plane = std::move(*p);
  }
  ~Instance() { plane.reset(); }  // before the cache it watches

  // Waits (for an event, bounded by a generous timeout) until `done` holds.
  template <typename Pred>
  bool WaitFor(Pred done) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return done(); });
  }

  std::unique_ptr<Cache> cache;
  std::mutex mu;
  std::condition_variable cv;
  int remote_removals = 0;
  int reconnect_resyncs = 0;
  Subscription removals;
  std::unique_ptr<Backplane> plane;
};

Result<std::string> Fetched(std::string v) { return v; }

}  // namespace

TEST_CASE("Backplane over Redis: a write in one instance removes the other's copy") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  Instance a(server->options());
  Instance b(server->options());
  REQUIRE(b.cache->GetOrSet("user:1", [] { return Fetched("old"); }).ok());
  REQUIRE(b.cache->Set("list:1", "l").ok());
  b.plane->WaitUntilSent();
  REQUIRE(a.cache->Set("user:1", "new").ok());
  REQUIRE(*a.cache->InvalidatePattern("list:*") == 0);  // a holds no list: b's goes anyway
  REQUIRE(b.WaitFor([&] { return b.remote_removals >= 2; }));
  CHECK_FALSE(b.cache->Exists("user:1"));
  CHECK_FALSE(b.cache->Exists("list:1"));
  CHECK(a.cache->Exists("user:1"));
  CHECK(b.plane->GetStats().applied >= 2);
  CHECK(a.plane->GetStats().gaps == 0);
}

TEST_CASE("Backplane over Redis: another process's write and pattern reach this instance") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  Instance b(server->options());
  REQUIRE(b.cache->Set("user:7", "old").ok());
  REQUIRE(b.cache->Set("user:7:orders", "old").ok());
  REQUIRE(b.cache->Set("user:8", "kept").ok());
  b.plane->WaitUntilSent();
  testing::ChildProcess child("backplane-write", std::to_string(server->port()), "user:7");
  unsigned long long sent = 0;
  CHECK(std::fscanf(child.out, "sent %llu", &sent) == 1);
  CHECK(sent == 2);
  const int status = child.Wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(b.WaitFor([&] { return b.remote_removals >= 2; }));
  CHECK_FALSE(b.cache->Exists("user:7"));
  CHECK_FALSE(b.cache->Exists("user:7:orders"));
  CHECK(b.cache->Exists("user:8"));
  CHECK(b.plane->GetStats().received == 2);
}

TEST_CASE("Backplane over Redis: a restarted server makes every instance resync") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions redis = server->options();
  redis.reconnect_backoff_min = std::chrono::milliseconds(10);
  redis.reconnect_backoff_max = std::chrono::milliseconds(50);
  Instance a(redis);
  Instance b(redis);
  REQUIRE(b.cache->GetOrSet("user:1", [] { return Fetched("v1"); }).ok());
  REQUIRE(b.cache->GetWithStale("user:2", [] { return Fetched("v1"); }, 10 * kSec, 60 * kSec).ok());

  server->Stop();
  // While Redis is down: local reads and writes work; a's change cannot be sent.
  REQUIRE(a.cache->Set("user:1", "v2").ok());
  std::string v;
  CHECK(b.cache->Get("user:1", &v));
  CHECK(v == "v1");
  a.plane->WaitUntilSent();
  CHECK(a.plane->GetStats().publish_failures >= 1);

  std::string why;
  REQUIRE_MESSAGE(server->Restart(&why), why);
  REQUIRE(b.WaitFor([&] { return b.reconnect_resyncs >= 1; }));
  REQUIRE(a.WaitFor([&] { return a.reconnect_resyncs >= 1; }));
  // b no longer serves the value a replaced while the server was down; the stale-capable entry
  // revalidates on its next read.
  CHECK_FALSE(b.cache->Exists("user:1"));
  CHECK_FALSE(b.cache->Get("user:2"));
  CHECK(b.plane->GetStats().disconnects >= 1);
  CHECK(b.plane->GetStats().connected);

  // And invalidations flow again.
  REQUIRE(b.cache->Set("user:3", "x").ok());
  b.plane->WaitUntilSent();
  REQUIRE(a.cache->Set("user:3", "y").ok());
  REQUIRE(b.WaitFor([&] { return !b.cache->Exists("user:3"); }));
}

TEST_CASE("Backplane over Redis: a wrong address or password is a clear error") {
  auto server = testing::StartRedisForTest("s3cret");
  if (server == nullptr) return;
  CacheOptions o;
  o.maintenance_interval = Duration::zero();
  auto cache = std::move(*Cache::Open(std::move(o)));
  RedisOptions wrong = server->options();
  wrong.password = "nope";
  Result<std::unique_ptr<Backplane>> p = Backplane::Connect(*cache, wrong, {.name = "users"});
  CHECK(p.status().code() == Status::Code::kFailedPrecondition);
  CHECK(p.status().message().find("nope") == std::string::npos);
  CHECK(p.status().message().find("backplane 'users'") != std::string::npos);
  RedisOptions right = server->options();
  CHECK(Backplane::Connect(*cache, right, {.name = "users"}).ok());
}

}  // namespace larder
