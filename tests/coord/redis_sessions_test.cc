// Redis sessions: the in-process store's contract over Redis keys, sliding PX expiry, per-user
// listing and logout, the deadline index, and the key layout. Expiry is the server's; tests make
// a ttl pass by expiring the key in Redis directly (PEXPIREAT to a past time), which is what the
// server does when the ttl runs out.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_server.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);

bool IsHex32(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::unique_ptr<SessionStore> NewStore(const testing::RedisServer& server,
                                       const RedisSessionOptions& options = {}) {
  Result<std::unique_ptr<SessionStore>> store = NewRedisSessionStore(server.options(), options);
  REQUIRE(store.ok());
  return *std::move(store);
}

std::string Key(const std::string& id) { return "larder:session:s:" + id; }

// What the server does when a session's ttl passes.
void ExpireNow(testing::RawRedis& raw, const std::string& key) {
  REQUIRE(raw.Int({"PEXPIREAT", key, "1"}) == 1);
  REQUIRE(raw.Int({"EXISTS", key}) == 0);
}

}  // namespace

TEST_CASE("RedisSessions: create returns an unguessable id; get returns the user and data") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto store = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  const std::string data("cart\0blob", 9);
  Result<std::string> id = store->CreateSession("alice", data, 30 * kSec);
  REQUIRE(id.ok());
  CHECK(IsHex32(*id));
  Result<std::optional<Session>> got = store->GetSession(*id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->id == *id);
  CHECK((*got)->user_id == "alice");
  CHECK((*got)->data == data);  // bytes, not C strings
  CHECK((*got)->expires_in == 30 * kSec);
  CHECK_FALSE(store->GetSession("0123456789abcdef0123456789abcdef")->has_value());
  CHECK_FALSE(store->GetSession("")->has_value());
  // The layout docs/coordination.md describes.
  CHECK(raw.Run({"HGET", Key(*id), "user"}) == "alice");
  CHECK(raw.Run({"HGET", Key(*id), "data"}) == data);
  CHECK(raw.Run({"HGET", Key(*id), "ttl"}) == "30000");
  CHECK(raw.Int({"PTTL", Key(*id)}) > 25'000);
  CHECK(raw.Run({"ZRANGE", "larder:session:u:alice", "0", "-1"}) == *id);
  CHECK(raw.Int({"ZCARD", "larder:session:all"}) == 1);
  std::set<std::string> ids{*id};
  for (int i = 0; i < 300; ++i) CHECK(ids.insert(*store->CreateSession("alice", "", kSec)).second);
}

TEST_CASE("RedisSessions: get and touch slide the deadline; an unused session expires") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto store = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
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

  ExpireNow(raw, Key(id));
  CHECK_FALSE(store->GetSession(id)->has_value());
  CHECK_FALSE(*store->TouchSession(id));
  CHECK_FALSE(*store->DestroySession(id));  // there was no live session to end
  CHECK(store->ListUserSessions("bob")->empty());
}

TEST_CASE("RedisSessions: destroy ends one session; the user's set expires with its last one") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto store = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  const std::string a = *store->CreateSession("carol", "a", 60 * kSec);
  const std::string b = *store->CreateSession("carol", "b", 600 * kSec);
  CHECK(raw.Int({"PTTL", "larder:session:u:carol"}) > 590'000);  // the longest session's
  CHECK(*store->DestroySession(a));
  CHECK_FALSE(*store->DestroySession(a));
  CHECK_FALSE(store->GetSession(a)->has_value());
  CHECK_FALSE(*store->TouchSession(a));
  CHECK(store->GetSession(b)->has_value());
  Result<std::vector<Session>> listed = store->ListUserSessions("carol");
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id == b);
  CHECK(raw.Int({"ZCARD", "larder:session:u:carol"}) == 1);
  CHECK(*store->DestroySession(b));
  CHECK(raw.Int({"EXISTS", "larder:session:u:carol"}) == 0);  // no set left behind
  CHECK(*store->ApproximateSize() == 0);
}

TEST_CASE("RedisSessions: a user's live sessions are listed oldest first and destroyed together") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto store = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  const std::string phone = *store->CreateSession("dave", "phone", 100 * kSec);
  const std::string laptop = *store->CreateSession("dave", "laptop", 100 * kSec);
  const std::string kiosk = *store->CreateSession("dave", "kiosk", 5 * kSec);
  const std::string tablet = *store->CreateSession("dave", "tablet", 100 * kSec);
  const std::string other = *store->CreateSession("erin", "desk", 100 * kSec);
  Result<std::vector<Session>> listed = store->ListUserSessions("dave");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 4);
  CHECK((*listed)[0].id == phone);
  CHECK((*listed)[0].data == "phone");
  CHECK((*listed)[0].user_id == "dave");
  CHECK((*listed)[0].expires_in > 90 * kSec);
  CHECK((*listed)[0].expires_in <= 100 * kSec);
  CHECK((*listed)[1].id == laptop);
  CHECK((*listed)[2].id == kiosk);
  CHECK((*listed)[3].id == tablet);
  ExpireNow(raw, Key(kiosk));
  listed = store->ListUserSessions("dave");
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[2].data == "tablet");
  CHECK(raw.Int({"ZCARD", "larder:session:u:dave"}) == 3);  // listing dropped the expired id
  CHECK(store->ListUserSessions("nobody")->empty());
  CHECK(*store->DestroyUserSessions("dave") == 3);
  CHECK(store->ListUserSessions("dave")->empty());
  for (const std::string& id : {phone, laptop, tablet}) {
    CHECK_FALSE(store->GetSession(id)->has_value());
  }
  CHECK(raw.Int({"EXISTS", "larder:session:u:dave"}) == 0);
  CHECK(*store->DestroyUserSessions("dave") == 0);
  CHECK((*store->GetSession(other))->data == "desk");  // other users are untouched
}

TEST_CASE("RedisSessions: ApproximateSize counts the index; creates prune its expired ids") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto store = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  CHECK(*store->ApproximateSize() == 0);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(*store->CreateSession("frank", "x", 60 * kSec));
  CHECK(*store->ApproximateSize() == 5);
  CHECK(*store->DestroySession(ids[0]));
  CHECK(*store->ApproximateSize() == 4);
  // Two sessions' ttls pass: their keys go and their index deadlines pass (scores in ms).
  for (int i = 1; i <= 2; ++i) {
    ExpireNow(raw, Key(ids[i]));
    REQUIRE(raw.Int({"ZADD", "larder:session:all", "XX", "1", ids[i]}) == 0);
  }
  CHECK(*store->ApproximateSize() == 4);  // expired, not pruned yet
  (void)*store->CreateSession("grace", "y", 60 * kSec);
  CHECK(*store->ApproximateSize() == 3);  // 2 live + the new one
  CHECK(*store->DestroyUserSessions("frank") == 2);
  CHECK(*store->ApproximateSize() == 1);
}

TEST_CASE("RedisSessions: the key prefix is an option; stores with different ones are apart") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisSessionOptions options;
  options.key_prefix = "app2:sess:";
  auto mine = NewStore(*server, options);
  auto theirs = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  const std::string id = *mine->CreateSession("henry", "h", 60 * kSec);
  CHECK(raw.Int({"EXISTS", "app2:sess:s:" + id}) == 1);
  CHECK(raw.Int({"EXISTS", "app2:sess:u:henry"}) == 1);
  CHECK(raw.Int({"EXISTS", Key(id)}) == 0);
  CHECK_FALSE(theirs->GetSession(id)->has_value());
  CHECK(theirs->ListUserSessions("henry")->empty());
  CHECK(*mine->ApproximateSize() == 1);
  CHECK(*theirs->ApproximateSize() == 0);
}

TEST_CASE("RedisSessions: empty user ids and non-positive ttls are refused, naming the argument") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto store = NewStore(*server);
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  Result<std::string> r = store->CreateSession("", "d", kSec);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("user_id") != std::string_view::npos);
  r = store->CreateSession("u", "d", Duration::zero());
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("ttl") != std::string_view::npos);
  CHECK(store->CreateSession("u", "d", -kSec).status().IsInvalidArgument());
  CHECK(store->ListUserSessions("").status().IsInvalidArgument());
  CHECK(store->DestroyUserSessions("").status().IsInvalidArgument());
  CHECK(*store->ApproximateSize() == 0);  // refused calls stored nothing
  // A huge ttl is capped at what a Duration holds in whole ms, not overflowed; a tiny one rounds
  // up to 1 ms, never 0.
  const std::string huge = *store->CreateSession("u", "d", Duration::max());
  CHECK(raw.Int({"PTTL", Key(huge)}) > 9'000'000'000'000);
  CHECK((*store->GetSession(huge))->expires_in ==
        std::chrono::milliseconds(Duration::max().count() / 1'000'000));
  CHECK(store->CreateSession("u", "d", std::chrono::nanoseconds(1)).ok());
}

TEST_CASE("RedisSessions: creates racing logout-everywhere, on two stores, count each once") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto a = NewStore(*server);
  auto b = NewStore(*server);  // another process's view: its own connections
  constexpr int kThreads = 3;
  constexpr int kPerThread = 200;
  std::atomic<uint64_t> destroyed{0};
  std::atomic<bool> creating{true};
  std::thread logout([&] {
    while (creating.load()) destroyed += *b->DestroyUserSessions("shared");
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = *a->CreateSession("shared", "s", 60 * kSec);
        (void)a->GetSession(id);
        (void)*a->CreateSession("own" + std::to_string(t), "o", 60 * kSec);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  creating = false;
  logout.join();
  destroyed += *a->DestroyUserSessions("shared");
  CHECK(destroyed.load() == uint64_t{kThreads} * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    CHECK(b->ListUserSessions("own" + std::to_string(t))->size() == kPerThread);
  }
  CHECK(*b->ApproximateSize() == uint64_t{kThreads} * kPerThread);
}

TEST_CASE("RedisSessions: a stopped server is Unavailable; the store works again after restart") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions options = server->options();
  options.reconnect_backoff_min = Duration::zero();  // retry at once: no waiting in the test
  options.reconnect_backoff_max = Duration::zero();
  Result<std::unique_ptr<SessionStore>> opened = NewRedisSessionStore(options);
  REQUIRE(opened.ok());
  SessionStore& store = **opened;
  const std::string id = *store.CreateSession("ivan", "i", 60 * kSec);
  server->Stop();
  Result<std::optional<Session>> got = store.GetSession(id);
  REQUIRE(got.status().IsUnavailable());
  CHECK(got.status().message().find("127.0.0.1:" + std::to_string(server->port())) !=
        std::string_view::npos);
  CHECK(store.CreateSession("ivan", "i", kSec).status().IsUnavailable());
  std::string why;
  REQUIRE_MESSAGE(server->Restart(&why), why);
  CHECK_FALSE(store.GetSession(id)->has_value());  // the restarted server is empty
  const std::string again = *store.CreateSession("ivan", "i", 60 * kSec);
  CHECK((*store.GetSession(again))->data == "i");
}

}  // namespace larder
