// Local sessions: the SessionStore contract (sessions_contract.h) on a ManualClock, exact sliding
// deadlines, and the cleanup of expired sessions (met, listed, swept).
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "coord_testing.h"
#include "larder/coord.h"
#include "sessions_contract.h"

namespace larder {
namespace {

using testing::kSec;

// A store on a manual clock.
struct LocalStore {
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<SessionStore> store = NewLocalSessionStore(clock);
};

}  // namespace

TEST_CASE("Sessions (local): create returns an unguessable id; get returns the user and data") {
  LocalStore s;
  const std::string id = contract::CreateThenGet(*s.store, std::string("cart\0blob", 9));
  contract::IdsDoNotRepeat(*s.store, id, /*count=*/1000);
}

TEST_CASE("Sessions (local): get and touch slide the deadline; an unused session expires") {
  LocalStore s;
  const std::string id = *s.store->CreateSession("bob", "d", 10 * kSec);
  s.clock->Advance(8 * kSec);
  CHECK(s.store->GetSession(id)->has_value());  // deadline now 18 s
  s.clock->Advance(8 * kSec);
  CHECK(s.store->GetSession(id)->has_value());  // 16 s: alive only because the get slid it; now 26
  s.clock->Advance(9 * kSec);
  CHECK(*s.store->TouchSession(id));  // 25 s; now 35
  s.clock->Advance(9 * kSec);
  Result<std::optional<Session>> got = s.store->GetSession(id);  // 34 s; now 44
  REQUIRE(got->has_value());
  CHECK((*got)->data == "d");
  // Listing is not a use: it reports the time left without extending it.
  s.clock->Advance(4 * kSec);
  Result<std::vector<Session>> listed = s.store->ListUserSessions("bob");
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].expires_in == 6 * kSec);
  s.clock->Advance(6 * kSec);  // 44 s: expired
  contract::ExpiredSessionIsGone(*s.store, id, "bob");
}

TEST_CASE("Sessions (local): destroy ends one session; touch of an unknown id is false") {
  LocalStore s;
  const std::string a = *s.store->CreateSession("carol", "a", 60 * kSec);
  const std::string b = *s.store->CreateSession("carol", "b", 60 * kSec);
  contract::DestroyEndsOneSession(*s.store, a, b);
  const std::string c = *s.store->CreateSession("carol", "c", kSec);
  s.clock->Advance(2 * kSec);
  CHECK_FALSE(*s.store->DestroySession(c));  // expired: there was no live session to end
}

TEST_CASE("Sessions (local): a user's live sessions are listed oldest first, ended together") {
  LocalStore s;
  const contract::DaveAndErin dave =
      contract::ListsUserSessionsOldestFirst(*s.store, [&] { s.clock->Advance(kSec); });
  CHECK(dave.listed_phone.expires_in == 99 * kSec);
  s.clock->Advance(10 * kSec);  // the kiosk session expires
  contract::ExpiredSessionsAreNotListed(*s.store);
  contract::DestroyUserSessionsEndsThemAll(*s.store, dave);
}

TEST_CASE("Sessions (local): expired sessions are dropped when met, when listed, and by sweeps") {
  LocalStore s;
  SessionStore& store = *s.store;
  // Met: a get of an expired session drops it.
  const std::string gone = *store.CreateSession("frank", "x", kSec);
  s.clock->Advance(2 * kSec);
  CHECK(*store.ApproximateSize() == 1);
  CHECK_FALSE(store.GetSession(gone)->has_value());
  CHECK(*store.ApproximateSize() == 0);
  // Listed: listing a user drops its expired sessions.
  for (int i = 0; i < 3; ++i) (void)*store.CreateSession("grace", "short", 10 * kSec);
  (void)*store.CreateSession("grace", "long", 100 * kSec);
  s.clock->Advance(20 * kSec);
  CHECK(*store.ApproximateSize() == 4);
  CHECK(store.ListUserSessions("grace")->size() == 1);
  CHECK(*store.ApproximateSize() == 1);
  // Swept: sessions nobody asks for again go as the store keeps being used.
  for (int i = 0; i < 100; ++i) {
    (void)*store.CreateSession("user" + std::to_string(i), "tmp", kSec);
  }
  CHECK(*store.ApproximateSize() == 101);
  s.clock->Advance(2 * kSec);
  for (int i = 0; i < 16 * 4096; ++i) (void)*store.GetSession("probe" + std::to_string(i));
  CHECK(*store.ApproximateSize() == 1);
  CHECK(store.ListUserSessions("grace")->size() == 1);
}

TEST_CASE("Sessions (local): empty user ids and non-positive ttls are refused, naming which") {
  auto store = NewLocalSessionStore();  // the system clock: now + a huge ttl could overflow
  contract::RefusesEmptyUserIdsAndBadTtls(*store);
  CHECK(store->CreateSession("u", "d", Duration::max()).ok());  // a huge ttl does not overflow
}

TEST_CASE("Sessions (local): creates racing logout-everywhere lose none and count each once") {
  LocalStore s;
  contract::CreatesRacingLogoutCountEachOnce(*s.store, *s.store, /*per_thread=*/500);
}

}  // namespace larder
