// Redis sessions: the SessionStore contract (sessions_contract.h) over Redis keys, sliding PX
// expiry, the deadline index, the key layout, and a server that stops. Expiry is the server's;
// tests make a ttl pass by expiring the key in Redis directly (PEXPIREAT to a past time), which
// is what the server does when the ttl runs out.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "coord_testing.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_fixture.h"
#include "sessions_contract.h"

namespace larder {
namespace {

using testing::kSec;

std::unique_ptr<SessionStore> NewStore(const testing::RedisFixture& redis,
                                       const RedisSessionOptions& options = {}) {
  return testing::Opened(NewRedisSessionStore(redis.options(), options));
}

std::string Key(const std::string& id) { return "larder:session:s:" + id; }

}  // namespace

TEST_CASE("Sessions (Redis): create returns an unguessable id; get returns the user and data") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto store = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  const std::string data("cart\0blob", 9);
  const std::string id = contract::CreateThenGet(*store, data);
  // The layout docs/coordination.md describes.
  CHECK(raw.Run({"HGET", Key(id), "user"}) == "alice");
  CHECK(raw.Run({"HGET", Key(id), "data"}) == data);
  CHECK(raw.Run({"HGET", Key(id), "ttl"}) == "30000");
  CHECK(raw.Int({"PTTL", Key(id)}) > 25'000);
  CHECK(raw.Run({"ZRANGE", "larder:session:u:alice", "0", "-1"}) == id);
  CHECK(raw.Int({"ZCARD", "larder:session:all"}) == 1);
  contract::IdsDoNotRepeat(*store, id, /*count=*/300);
}

TEST_CASE("Sessions (Redis): get and touch slide the deadline; an unused session expires") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto store = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  const std::string id = *store->CreateSession("bob", "d", 100 * kSec);
  // Time passing is the key's ttl running down: shorten it, then check a use restores it.
  REQUIRE(raw.Int({"PEXPIRE", Key(id), "2000"}) == 1);
  REQUIRE(store->GetSession(id)->has_value());
  CHECK(raw.Int({"PTTL", Key(id)}) > 90'000);
  REQUIRE(raw.Int({"PEXPIRE", Key(id), "2000"}) == 1);
  CHECK(*store->TouchSession(id));
  CHECK(raw.Int({"PTTL", Key(id)}) > 90'000);
  // Listing is not a use: it reports the time left without extending it.
  REQUIRE(raw.Int({"PEXPIRE", Key(id), "6000"}) == 1);
  Result<std::vector<Session>> listed = store->ListUserSessions("bob");
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].expires_in <= 6 * kSec);
  CHECK((*listed)[0].expires_in > 3 * kSec);
  CHECK(raw.Int({"PTTL", Key(id)}) <= 6'000);
  // A use also keeps the user's set alive at least as long as the session.
  REQUIRE(raw.Int({"PEXPIRE", "larder:session:u:bob", "1000"}) == 1);
  CHECK(*store->TouchSession(id));
  CHECK(raw.Int({"PTTL", "larder:session:u:bob"}) > 90'000);
  redis.ExpireNow(Key(id));
  contract::ExpiredSessionIsGone(*store, id, "bob");
}

TEST_CASE("Sessions (Redis): destroy ends one session; the user's set expires with its last one") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto store = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  const std::string a = *store->CreateSession("carol", "a", 60 * kSec);
  const std::string b = *store->CreateSession("carol", "b", 600 * kSec);
  CHECK(raw.Int({"PTTL", "larder:session:u:carol"}) > 590'000);  // the longest session's
  contract::DestroyEndsOneSession(*store, a, b);
  CHECK(raw.Int({"ZCARD", "larder:session:u:carol"}) == 1);
  CHECK(*store->DestroySession(b));
  CHECK(raw.Int({"EXISTS", "larder:session:u:carol"}) == 0);  // no set left behind
  CHECK(*store->ApproximateSize() == 0);
}

TEST_CASE("Sessions (Redis): a user's live sessions are listed oldest first, ended together") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto store = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  const contract::DaveAndErin dave = contract::ListsUserSessionsOldestFirst(*store, nullptr);
  CHECK(dave.listed_phone.expires_in > 90 * kSec);
  CHECK(dave.listed_phone.expires_in <= 100 * kSec);
  redis.ExpireNow(Key(dave.kiosk));
  contract::ExpiredSessionsAreNotListed(*store);
  CHECK(raw.Int({"ZCARD", "larder:session:u:dave"}) == 3);  // listing dropped the expired id
  contract::DestroyUserSessionsEndsThemAll(*store, dave);
  CHECK(raw.Int({"EXISTS", "larder:session:u:dave"}) == 0);
}

TEST_CASE("Sessions (Redis): ApproximateSize counts the index; creates prune its expired ids") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto store = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  CHECK(*store->ApproximateSize() == 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*store->CreateSession("frank", "x", 60 * kSec));
  CHECK(*store->ApproximateSize() == 5);
  CHECK(*store->DestroySession(ids[0]));
  CHECK(*store->ApproximateSize() == 4);
  // Two sessions' ttls pass: their keys go and their index deadlines pass (scores in ms).
  for (int i = 1; i <= 2; ++i) {
    redis.ExpireNow(Key(ids[i]));
    REQUIRE(raw.Int({"ZADD", "larder:session:all", "XX", "1", ids[i]}) == 0);
  }
  CHECK(*store->ApproximateSize() == 4);  // expired, not pruned yet
  (void)*store->CreateSession("grace", "y", 60 * kSec);
  CHECK(*store->ApproximateSize() == 3);  // 2 live + the new one
  CHECK(*store->DestroyUserSessions("frank") == 2);
  CHECK(*store->ApproximateSize() == 1);
}

TEST_CASE("Sessions (Redis): the key prefix is an option; stores with different ones are apart") {
  testing::RedisFixture redis;
  if (!redis) return;
  RedisSessionOptions options;
  options.key_prefix = "app2:sess:";
  auto mine = NewStore(redis, options);
  auto theirs = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  const std::string id = *mine->CreateSession("henry", "h", 60 * kSec);
  CHECK(raw.Int({"EXISTS", "app2:sess:s:" + id}) == 1);
  CHECK(raw.Int({"EXISTS", "app2:sess:u:henry"}) == 1);
  CHECK(raw.Int({"EXISTS", Key(id)}) == 0);
  CHECK_FALSE(theirs->GetSession(id)->has_value());
  CHECK(theirs->ListUserSessions("henry")->empty());
  CHECK(*mine->ApproximateSize() == 1);
  CHECK(*theirs->ApproximateSize() == 0);
}

TEST_CASE("Sessions (Redis): empty user ids and non-positive ttls are refused, naming which") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto store = NewStore(redis);
  testing::RawRedis& raw = redis.raw();
  contract::RefusesEmptyUserIdsAndBadTtls(*store);
  // A huge ttl is capped at what a Duration holds in whole ms, not overflowed; a tiny one rounds
  // up to 1 ms, never 0.
  const std::string huge = *store->CreateSession("u", "d", Duration::max());
  CHECK(raw.Int({"PTTL", Key(huge)}) > 9'000'000'000'000);
  CHECK((*store->GetSession(huge))->expires_in ==
        std::chrono::milliseconds(Duration::max().count() / 1'000'000));
  CHECK(store->CreateSession("u", "d", std::chrono::nanoseconds(1)).ok());
}

TEST_CASE("Sessions (Redis): creates racing logout-everywhere, on two stores, count each once") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto a = NewStore(redis);
  auto b = NewStore(redis);  // another process's view: its own connections
  contract::CreatesRacingLogoutCountEachOnce(*a, *b, /*per_thread=*/200);
}

TEST_CASE("Sessions (Redis): a stopped server is Unavailable; the store works after a restart") {
  testing::RedisFixture redis;
  if (!redis) return;
  RedisOptions options = redis.options();
  options.reconnect_backoff_min = Duration::zero();  // retry at once: no waiting in the test
  options.reconnect_backoff_max = Duration::zero();
  auto opened = testing::Opened(NewRedisSessionStore(options));
  SessionStore& store = *opened;
  const std::string id = *store.CreateSession("ivan", "i", 60 * kSec);
  redis.server().Stop();
  Result<std::optional<Session>> got = store.GetSession(id);
  REQUIRE(got.status().IsUnavailable());
  CHECK(got.status().message().find("127.0.0.1:" + std::to_string(redis.port())) !=
        std::string_view::npos);
  CHECK(store.CreateSession("ivan", "i", kSec).status().IsUnavailable());
  std::string why;
  REQUIRE_MESSAGE(redis.server().Restart(&why), why);
  CHECK_FALSE(store.GetSession(id)->has_value());  // the restarted server is empty
  const std::string again = *store.CreateSession("ivan", "i", 60 * kSec);
  CHECK((*store.GetSession(again))->data == "i");
}

}  // namespace larder
