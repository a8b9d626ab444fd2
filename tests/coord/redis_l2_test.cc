// RedisL2 against a real redis-server: read-through with the ttl Redis has left, write-through
// with ttl and tags, every local invalidation removing what Redis holds (and remote ones not),
// distrust after a removal that failed, and the backplane updating Redis before it tells others.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/redis_l2.h"
#include "redis_fixture.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);
const std::string kNs = "larder:l2:users:";

// One instance: a cache on a manual clock with its L2; counts the fetcher's calls.
struct L2Instance {
  explicit L2Instance(const RedisOptions& redis, const std::string& name = "users") {
    CacheOptions o;
    o.clock = std::make_shared<ManualClock>();
    o.maintenance_interval = Duration::zero();
    o.default_ttl = 60 * kSec;
    cache = std::move(*Cache::Open(std::move(o)));
    Result<std::unique_ptr<RedisL2>> l = RedisL2::Connect(*cache, redis, {.name = name});
    REQUIRE_MESSAGE(l.ok(), l.status().ToString());
    l2 = std::move(*l);
  }
  Result<std::string> Load(const std::string& key, const std::string& value,
                           const WriteOptions& w = {}) {
    return l2->GetOrSet(key, [&]() -> Result<std::string> {
      ++fetches;
      return value;
    }, w);
  }
  std::unique_ptr<Cache> cache;
  std::unique_ptr<RedisL2> l2;
  int fetches = 0;
};

}  // namespace

TEST_CASE("RedisL2: a value one instance loaded serves another, for the time Redis has left") {
  testing::RedisFixture redis;
  if (!redis) return;
  L2Instance a(redis.options()), b(redis.options());
  REQUIRE(*a.Load("user:1", "ann", {.ttl = 30 * kSec}) == "ann");
  CHECK(a.fetches == 1);
  CHECK(a.l2->GetStats().misses == 1);
  CHECK(a.l2->GetStats().writes == 1);
  const long long pttl = redis.raw().Int({"PTTL", kNs + "k:user:1"});
  CHECK(pttl > 29'000);
  CHECK(pttl <= 30'000);

  REQUIRE(redis.raw().Int({"PEXPIRE", kNs + "k:user:1", "5000"}) == 1);
  REQUIRE(*b.Load("user:1", "from the source", {.ttl = 30 * kSec}) == "ann");
  CHECK(b.fetches == 0);  // Redis answered
  CHECK(b.l2->GetStats().hits == 1);
  KeyTtl ttl = b.cache->Ttl("user:1");
  REQUIRE(ttl.exists);
  REQUIRE(ttl.remaining.has_value());
  CHECK(*ttl.remaining <= 5 * kSec);  // not the 30 s asked: Redis has 5 left
  CHECK(*ttl.remaining > 4 * kSec);

  // A local hit asks nobody.
  REQUIRE(*b.Load("user:1", "x") == "ann");
  CHECK(b.l2->GetStats().hits == 1);
  CHECK(b.l2->GetStats().misses == 0);

  // A fetcher's error is returned, nothing is cached anywhere.
  Result<std::string> failed =
      a.l2->GetOrSet("user:2", [] { return Result<std::string>(Status::Unavailable("db down")); });
  CHECK(failed.status().code() == Status::Code::kUnavailable);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:2"}) == 0);
}

TEST_CASE("RedisL2: Set writes both levels with ttl and tags; local invalidations reach Redis") {
  testing::RedisFixture redis;
  if (!redis) return;
  L2Instance a(redis.options()), other(redis.options(), "orders");
  REQUIRE(a.l2->Set("user:1", "ann", {.ttl = 20 * kSec, .tags = {"team"}}).ok());
  REQUIRE(a.l2->Set("user:2", "bob", {.tags = {"team"}}).ok());
  REQUIRE(a.l2->Set("list:1", "l").ok());
  REQUIRE(a.l2->Set("list:2", "l").ok());
  REQUIRE(a.l2->Set("k", "v").ok());
  REQUIRE(other.l2->Set("k", "theirs").ok());
  CHECK(redis.raw().Run({"GET", kNs + "k:user:1"}) == "ann");
  CHECK(redis.raw().Int({"PTTL", kNs + "k:user:2"}) > 59'000);  // the cache's default ttl
  CHECK(redis.raw().Int({"SCARD", kNs + "t:team"}) == 2);
  CHECK(redis.raw().Int({"PTTL", kNs + "t:team"}) > 59'000);  // as long as its longest member

  // A write straight to the cache leaves Redis with nothing older than it.
  REQUIRE(a.cache->Set("k", "newer").ok());
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:k"}) == 0);
  CHECK(redis.raw().Int({"EXISTS", "larder:l2:orders:k:k"}) == 1);  // another cache's

  CHECK(*a.cache->InvalidatePattern("list:*") == 2);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:list:1"}) == 0);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:list:2"}) == 0);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:1"}) == 1);

  CHECK(a.cache->InvalidateByTag("team") == 2);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:1"}) == 0);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:2"}) == 0);
  CHECK(redis.raw().Int({"EXISTS", kNs + "t:team"}) == 0);

  REQUIRE(a.l2->Set("user:3", "cy").ok());
  CHECK(a.cache->Delete("user:3"));
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:3"}) == 0);

  // A delete of a key this instance never held still removes what Redis holds.
  L2Instance b(redis.options());
  REQUIRE(b.l2->Set("user:5", "ed").ok());
  REQUIRE_FALSE(a.cache->Exists("user:5"));
  CHECK_FALSE(a.cache->Delete("user:5"));
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:5"}) == 0);

  // Changes applied for another instance leave Redis alone: their origin updated it.
  REQUIRE(a.l2->Set("user:4", "di").ok());
  {
    RemoteScope remote;
    CHECK(a.cache->Delete("user:4"));
  }
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:4"}) == 1);

  a.cache->Clear();
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:4"}) == 0);
  CHECK(redis.raw().Int({"EXISTS", "larder:l2:orders:k:k"}) == 1);
  CHECK(a.l2->GetStats().removals == 6);
  CHECK(a.l2->GetStats().errors == 0);

  // A value the cache refuses is written nowhere.
  CHECK_FALSE(a.l2->Set("bad", "v", {.ttl = -kSec}).ok());
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:bad"}) == 0);
}

// The fetcher runs while another instance changes the key: the value it read may be the old one,
// so it must not reach Redis (the others would read it back).
TEST_CASE("RedisL2: a load does not write Redis when the key was removed while it ran") {
  testing::RedisFixture redis;
  if (!redis) return;
  L2Instance a(redis.options()), b(redis.options());
  const auto load_during = [&](const std::string& key, const std::function<void()>& change) {
    return a.l2->GetOrSet(key, [&]() -> Result<std::string> {
      change();
      return std::string("read before the change");
    });
  };
  SUBCASE("the key") {
    CHECK(*load_during("user:1", [&] { CHECK_FALSE(b.cache->Delete("user:1")); }) ==
          "read before the change");
  }
  SUBCASE("a pattern") {
    CHECK(*load_during("user:1", [&] { CHECK(*b.cache->InvalidatePattern("user:*") == 0); }) ==
          "read before the change");
  }
  SUBCASE("a tag (any tag: the load's tags are only known when it writes)") {
    CHECK(*load_during("user:1", [&] { CHECK(b.cache->InvalidateByTag("other") == 0); }) ==
          "read before the change");
  }
  SUBCASE("a clear") {
    CHECK(*load_during("user:1", [&] { b.cache->Clear(); }) == "read before the change");
  }
  SUBCASE("a newer value written through the other L2") {
    CHECK(*load_during("user:1", [&] { REQUIRE(b.l2->Set("user:1", "newer").ok()); }) ==
          "read before the change");
    CHECK(redis.raw().Run({"GET", kNs + "k:user:1"}) == "newer");
  }
  CHECK(a.l2->GetStats().refused == 1);
  CHECK(a.l2->GetStats().writes == 0);
  CHECK(a.cache->Exists("user:1"));  // this instance was told nothing: its copy is its own
  if (redis.raw().Int({"EXISTS", kNs + "k:user:1"}) == 0) {
    // The next load takes a new lease (the cancelled one does not block it) and writes.
    CHECK(*b.Load("user:1", "read after") == "read after");
    CHECK(b.l2->GetStats().writes == 1);
    CHECK(redis.raw().Run({"GET", kNs + "k:user:1"}) == "read after");
  }
}

TEST_CASE("RedisL2: while one load of a key holds its lease, another load does not write") {
  testing::RedisFixture redis;
  if (!redis) return;
  L2Instance a(redis.options()), b(redis.options());
  Result<std::string> first = a.l2->GetOrSet("k", [&]() -> Result<std::string> {
    CHECK(*b.Load("k", "b's") == "b's");  // b misses too, finds a's lease, does not write
    CHECK(redis.raw().Int({"EXISTS", kNs + "k:k"}) == 0);
    return std::string("a's");
  });
  CHECK(*first == "a's");
  CHECK(redis.raw().Run({"GET", kNs + "k:k"}) == "a's");
  CHECK(b.l2->GetStats().refused == 1);
  CHECK(a.l2->GetStats().writes == 1);
  CHECK(redis.raw().Int({"EXISTS", kNs + "l:k"}) == 0);  // the lease went with the write
  RedisL2Options bad{.name = "x", .lease = Duration::zero()};
  CHECK(RedisL2::Connect(*a.cache, redis.options(), bad).status().code() ==
        Status::Code::kInvalidArgument);
}

TEST_CASE("RedisL2: after a removal Redis missed, it is emptied before it is trusted again") {
  testing::RedisFixture redis;
  if (!redis) return;
  RedisOptions options = redis.options();
  options.command_timeout = std::chrono::milliseconds(200);
  options.reconnect_backoff_min = Duration::zero();
  options.reconnect_backoff_max = Duration::zero();
  L2Instance a(options), b(options);
  REQUIRE(a.l2->Set("user:1", "v1").ok());
  REQUIRE(a.l2->Set("user:2", "v1").ok());

  // Writes stall on the server: the removal times out and may never have happened.
  REQUIRE(redis.raw().Run({"CLIENT", "PAUSE", "60000", "WRITE"}) == "OK");
  CHECK(a.cache->Delete("user:1"));  // never fails because of Redis
  CHECK(a.l2->GetStats().errors == 1);
  CHECK_FALSE(a.l2->GetStats().trusted);
  REQUIRE(redis.raw().Run({"CLIENT", "UNPAUSE"}) == "OK");

  // The next use empties the namespace (user:2 included, which no removal named) first.
  REQUIRE(*a.Load("user:9", "fresh") == "fresh");
  CHECK(a.l2->GetStats().trusted);
  CHECK(redis.raw().Int({"EXISTS", kNs + "k:user:2"}) == 0);
  REQUIRE(*b.Load("user:2", "from the source") == "from the source");
  CHECK(b.fetches == 1);
}

TEST_CASE("RedisL2 with a backplane: the others find the new value in Redis, never the old") {
  testing::RedisFixture redis;
  if (!redis) return;
  struct Node {
    explicit Node(const RedisOptions& r) : inst(r) {
      Result<std::unique_ptr<Backplane>> p =
          Backplane::Connect(*inst.cache, r, {.name = "users", .l2 = inst.l2.get()});
      REQUIRE_MESSAGE(p.ok(), p.status().ToString());
      plane = std::move(*p);
      sub = inst.cache->Subscribe(
          [this](const CacheEvent& ev) {
            if (!ev.remote) return;
            std::lock_guard lock(mu);
            ++remote;  // one per message applied: each names a key
            cv.notify_all();
          },
          EventBit(EventType::kInvalidated));
    }
    ~Node() { plane.reset(); }
    bool WaitRemote(int n) {
      std::unique_lock lock(mu);
      return cv.wait_for(lock, std::chrono::seconds(20), [&] { return remote >= n; });
    }
    L2Instance inst;
    std::unique_ptr<Backplane> plane;
    std::mutex mu;
    std::condition_variable cv;
    int remote = 0;
    Subscription sub;
  };
  Node a(redis.options()), b(redis.options());
  REQUIRE(*a.inst.Load("user:1", "v1") == "v1");
  REQUIRE(*b.inst.Load("user:1", "unused") == "v1");  // from Redis
  CHECK(b.inst.fetches == 0);

  REQUIRE(a.inst.l2->Set("user:1", "v2").ok());
  REQUIRE(b.WaitRemote(1));  // b dropped its copy
  CHECK_FALSE(b.inst.cache->Exists("user:1"));
  CHECK(*b.inst.Load("user:1", "unused") == "v2");  // Redis already had the new value
  CHECK(b.inst.fetches == 0);

  CHECK(a.inst.cache->Delete("user:1"));
  REQUIRE(b.WaitRemote(2));
  CHECK(*b.inst.Load("user:1", "v3 from the source") == "v3 from the source");
  CHECK(b.inst.fetches == 1);

  // An L2 needs a name; a record cache's backplane takes no L2.
  Result<std::unique_ptr<RedisL2>> unnamed = RedisL2::Connect(*a.inst.cache, redis.options(), {});
  CHECK(unnamed.status().code() == Status::Code::kInvalidArgument);
}

TEST_CASE("RedisL2: a wrong password is a clear error") {
  testing::RedisFixture redis("s3cret");
  if (!redis) return;
  auto cache = std::move(*Cache::Open({}));
  RedisOptions wrong = redis.options();
  wrong.password = "nope";
  Result<std::unique_ptr<RedisL2>> l2 = RedisL2::Connect(*cache, wrong, {.name = "users"});
  CHECK(l2.status().code() == Status::Code::kFailedPrecondition);
  CHECK(l2.status().message().find("redis l2 'users'") != std::string::npos);
  CHECK(l2.status().message().find("nope") == std::string::npos);
}

}  // namespace larder
