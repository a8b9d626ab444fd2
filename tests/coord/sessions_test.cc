// Local sessions: sliding expiry on the manual clock, per-user listing and logout, cleanup, errors.
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

bool IsHex32(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}
}  // namespace

TEST_CASE("Sessions: create returns an unguessable id; get returns the user and data") {
  auto clock = std::make_shared<ManualClock>();
  auto store = NewLocalSessionStore(clock);
  Result<std::string> id = store->CreateSession("alice", std::string("cart\0blob", 9), 30 * kSec);
  REQUIRE(id.ok());
  CHECK(IsHex32(*id));
  Result<std::optional<Session>> got = store->GetSession(*id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->id == *id);
  CHECK((*got)->user_id == "alice");
  CHECK((*got)->data == std::string("cart\0blob", 9));  // bytes, not C strings
  CHECK((*got)->expires_in == 30 * kSec);
  CHECK_FALSE(store->GetSession("0123456789abcdef0123456789abcdef")->has_value());
  CHECK_FALSE(store->GetSession("")->has_value());
  std::set<std::string> ids{*id};
  for (int i = 0; i < 1000; ++i) CHECK(ids.insert(*store->CreateSession("alice", "", kSec)).second);
}

TEST_CASE("Sessions: get and touch slide the deadline; an unused session expires") {
  auto clock = std::make_shared<ManualClock>();
  auto store = NewLocalSessionStore(clock);
  const std::string id = *store->CreateSession("bob", "d", 10 * kSec);
  clock->Advance(8 * kSec);
  CHECK(store->GetSession(id)->has_value());  // deadline now 18 s
  clock->Advance(8 * kSec);
  CHECK(store->GetSession(id)->has_value());  // 16 s: alive only because the get slid it; now 26
  clock->Advance(9 * kSec);
  CHECK(*store->TouchSession(id));  // 25 s; now 35
  clock->Advance(9 * kSec);
  Result<std::optional<Session>> got = store->GetSession(id);  // 34 s; now 44
  REQUIRE(got->has_value());
  CHECK((*got)->data == "d");
  // Listing is not a use: it reports the time left without extending it.
  clock->Advance(4 * kSec);
  Result<std::vector<Session>> listed = store->ListUserSessions("bob");
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].expires_in == 6 * kSec);
  clock->Advance(6 * kSec);  // 44 s: expired
  CHECK_FALSE(store->GetSession(id)->has_value());
  CHECK_FALSE(*store->TouchSession(id));
  CHECK(store->ListUserSessions("bob")->empty());
}

TEST_CASE("Sessions: destroy ends one session; touch of an unknown id is false") {
  auto clock = std::make_shared<ManualClock>();
  auto store = NewLocalSessionStore(clock);
  const std::string a = *store->CreateSession("carol", "a", 60 * kSec);
  const std::string b = *store->CreateSession("carol", "b", 60 * kSec);
  CHECK(*store->DestroySession(a));
  CHECK_FALSE(*store->DestroySession(a));
  CHECK_FALSE(store->GetSession(a)->has_value());
  CHECK_FALSE(*store->TouchSession(a));
  CHECK(store->GetSession(b)->has_value());
  Result<std::vector<Session>> listed = store->ListUserSessions("carol");
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id == b);
  const std::string c = *store->CreateSession("carol", "c", kSec);
  clock->Advance(2 * kSec);
  CHECK_FALSE(*store->DestroySession(c));  // expired: there was no live session to end
}

TEST_CASE("Sessions: a user's live sessions are listed oldest first and destroyed together") {
  auto clock = std::make_shared<ManualClock>();
  auto store = NewLocalSessionStore(clock);
  const std::string phone = *store->CreateSession("dave", "phone", 100 * kSec);
  clock->Advance(kSec);
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
  CHECK((*listed)[0].expires_in == 99 * kSec);
  CHECK((*listed)[1].id == laptop);
  CHECK((*listed)[2].id == kiosk);
  CHECK((*listed)[3].id == tablet);
  clock->Advance(10 * kSec);  // the kiosk session expires
  listed = store->ListUserSessions("dave");
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[2].data == "tablet");
  CHECK(store->ListUserSessions("nobody")->empty());
  CHECK(*store->DestroyUserSessions("dave") == 3);
  CHECK(store->ListUserSessions("dave")->empty());
  for (const std::string& id : {phone, laptop, tablet})
    CHECK_FALSE(store->GetSession(id)->has_value());
  CHECK(*store->DestroyUserSessions("dave") == 0);
  CHECK((*store->GetSession(other))->data == "desk");  // other users are untouched
}

TEST_CASE("Sessions: expired sessions are dropped when met, when listed, and by sweeps") {
  auto clock = std::make_shared<ManualClock>();
  auto store = NewLocalSessionStore(clock);
  // Met: a get of an expired session drops it.
  const std::string gone = *store->CreateSession("frank", "x", kSec);
  clock->Advance(2 * kSec);
  CHECK(*store->ApproximateSize() == 1);
  CHECK_FALSE(store->GetSession(gone)->has_value());
  CHECK(*store->ApproximateSize() == 0);
  // Listed: listing a user drops its expired sessions.
  for (int i = 0; i < 3; ++i) (void)*store->CreateSession("grace", "short", 10 * kSec);
  (void)*store->CreateSession("grace", "long", 100 * kSec);
  clock->Advance(20 * kSec);
  CHECK(*store->ApproximateSize() == 4);
  CHECK(store->ListUserSessions("grace")->size() == 1);
  CHECK(*store->ApproximateSize() == 1);
  // Swept: sessions nobody asks for again go as the store keeps being used.
  for (int i = 0; i < 100; ++i) {
    (void)*store->CreateSession("user" + std::to_string(i), "tmp", kSec);
  }
  CHECK(*store->ApproximateSize() == 101);
  clock->Advance(2 * kSec);
  for (int i = 0; i < 16 * 4096; ++i) (void)*store->GetSession("probe" + std::to_string(i));
  CHECK(*store->ApproximateSize() == 1);
  CHECK(store->ListUserSessions("grace")->size() == 1);
}

TEST_CASE("Sessions: empty user ids and non-positive ttls are refused, naming the argument") {
  auto store = NewLocalSessionStore();
  Result<std::string> r = store->CreateSession("", "d", kSec);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("user_id") != std::string_view::npos);
  r = store->CreateSession("u", "d", Duration::zero());
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("ttl") != std::string_view::npos);
  CHECK(store->CreateSession("u", "d", -kSec).status().IsInvalidArgument());
  CHECK(store->ListUserSessions("").status().IsInvalidArgument());
  CHECK(store->DestroyUserSessions("").status().IsInvalidArgument());
  CHECK(*store->ApproximateSize() == 0);                        // refused calls stored nothing
  CHECK(store->CreateSession("u", "d", Duration::max()).ok());  // a huge ttl does not overflow
}

TEST_CASE("Sessions: creates racing logout-everywhere lose no session and count each once") {
  auto clock = std::make_shared<ManualClock>();
  auto store = NewLocalSessionStore(clock);
  constexpr int kThreads = 3;
  constexpr int kPerThread = 500;
  std::atomic<uint64_t> destroyed{0};
  std::atomic<bool> creating{true};
  std::thread logout([&] {
    while (creating.load()) destroyed += *store->DestroyUserSessions("shared");
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = *store->CreateSession("shared", "s", 60 * kSec);
        (void)store->GetSession(id);
        (void)*store->CreateSession("own" + std::to_string(t), "o", 60 * kSec);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  creating = false;
  logout.join();
  destroyed += *store->DestroyUserSessions("shared");
  CHECK(destroyed.load() == uint64_t{kThreads} * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    CHECK(store->ListUserSessions("own" + std::to_string(t))->size() == kPerThread);
  }
  CHECK(*store->ApproximateSize() == uint64_t{kThreads} * kPerThread);
}

}  // namespace larder
