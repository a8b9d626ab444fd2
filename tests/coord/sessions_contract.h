// The SessionStore contract (larder/coord.h), written once and run against the in-process store
// (sessions_test.cc) and the Redis one (redis_sessions_test.cc). How time passes differs: the
// local store's ManualClock moves, a Redis session's key is expired through a raw connection; so
// the tests let the ttls pass themselves and call these checks around it.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "coord_testing.h"
#include "larder/coord.h"

namespace larder::contract {

inline bool IsHex32(const std::string& s) {
  return s.size() == 32 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// CreateSession returns a 32-hex-digit id; GetSession returns the user, the data (bytes, not a C
// string) and the full ttl left; unknown ids are not found. Returns alice's session id (ttl 30 s).
inline std::string CreateThenGet(SessionStore& store, const std::string& data) {
  using testing::kSec;
  Result<std::string> id = store.CreateSession("alice", data, 30 * kSec);
  REQUIRE(id.ok());
  CHECK(IsHex32(*id));
  Result<std::optional<Session>> got = store.GetSession(*id);
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->id == *id);
  CHECK((*got)->user_id == "alice");
  CHECK((*got)->data == data);  // bytes, not C strings
  CHECK((*got)->expires_in == 30 * kSec);
  CHECK_FALSE(store.GetSession("0123456789abcdef0123456789abcdef")->has_value());
  CHECK_FALSE(store.GetSession("")->has_value());
  return *id;
}

// `count` more sessions get ids unlike each other and `first`.
inline void IdsDoNotRepeat(SessionStore& store, const std::string& first, int count) {
  std::set<std::string> ids{first};
  for (int i = 0; i < count; ++i) {
    CHECK(ids.insert(*store.CreateSession("alice", "", testing::kSec)).second);
  }
}

// The session `id` of `user_id` has expired: it is neither found, touched, destroyed nor listed.
inline void ExpiredSessionIsGone(SessionStore& store, const std::string& id,
                                 std::string_view user_id) {
  CHECK_FALSE(store.GetSession(id)->has_value());
  CHECK_FALSE(*store.TouchSession(id));
  CHECK_FALSE(*store.DestroySession(id));  // there was no live session to end
  CHECK(store.ListUserSessions(user_id)->empty());
}

// `a` and `b` are carol's only sessions, both live: destroying `a` ends it alone, once.
inline void DestroyEndsOneSession(SessionStore& store, const std::string& a, const std::string& b) {
  CHECK(*store.DestroySession(a));
  CHECK_FALSE(*store.DestroySession(a));
  CHECK_FALSE(store.GetSession(a)->has_value());
  CHECK_FALSE(*store.TouchSession(a));
  CHECK(store.GetSession(b)->has_value());
  Result<std::vector<Session>> listed = store.ListUserSessions("carol");
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].id == b);
}

// dave's four sessions and erin's one, made by ListsUserSessionsOldestFirst.
struct DaveAndErin {
  std::string phone, laptop, kiosk, tablet;  // dave's, oldest first; the kiosk's ttl is 5 s
  std::string other;                         // erin's
  Session listed_phone;                      // the phone session as first listed (ttl 100 s)
};

// A user's live sessions are listed oldest first, with their data and user, only that user's.
// `between` runs after the first session is made (time may pass there).
inline DaveAndErin ListsUserSessionsOldestFirst(SessionStore& store,
                                                const std::function<void()>& between) {
  using testing::kSec;
  DaveAndErin s;
  s.phone = *store.CreateSession("dave", "phone", 100 * kSec);
  if (between) between();
  s.laptop = *store.CreateSession("dave", "laptop", 100 * kSec);
  s.kiosk = *store.CreateSession("dave", "kiosk", 5 * kSec);
  s.tablet = *store.CreateSession("dave", "tablet", 100 * kSec);
  s.other = *store.CreateSession("erin", "desk", 100 * kSec);
  Result<std::vector<Session>> listed = store.ListUserSessions("dave");
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 4);
  CHECK((*listed)[0].id == s.phone);
  CHECK((*listed)[0].data == "phone");
  CHECK((*listed)[0].user_id == "dave");
  CHECK((*listed)[1].id == s.laptop);
  CHECK((*listed)[2].id == s.kiosk);
  CHECK((*listed)[3].id == s.tablet);
  s.listed_phone = (*listed)[0];
  return s;
}

// After the kiosk session has expired, dave's listing leaves it out.
inline void ExpiredSessionsAreNotListed(SessionStore& store) {
  Result<std::vector<Session>> listed = store.ListUserSessions("dave");
  REQUIRE(listed->size() == 3);
  CHECK((*listed)[2].data == "tablet");
}

// Logging dave out everywhere ends his 3 live sessions, once, and leaves erin's alone.
inline void DestroyUserSessionsEndsThemAll(SessionStore& store, const DaveAndErin& s) {
  CHECK(store.ListUserSessions("nobody")->empty());
  CHECK(*store.DestroyUserSessions("dave") == 3);
  CHECK(store.ListUserSessions("dave")->empty());
  for (const std::string& id : {s.phone, s.laptop, s.tablet}) {
    CHECK_FALSE(store.GetSession(id)->has_value());
  }
  CHECK(*store.DestroyUserSessions("dave") == 0);
  CHECK((*store.GetSession(s.other))->data == "desk");  // other users are untouched
}

// An empty user id and a non-positive ttl are InvalidArgument, naming which; refused calls
// store nothing.
inline void RefusesEmptyUserIdsAndBadTtls(SessionStore& store) {
  using testing::kSec;
  Result<std::string> r = store.CreateSession("", "d", kSec);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("user_id") != std::string_view::npos);
  r = store.CreateSession("u", "d", Duration::zero());
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("ttl") != std::string_view::npos);
  CHECK(store.CreateSession("u", "d", -kSec).status().IsInvalidArgument());
  CHECK(store.ListUserSessions("").status().IsInvalidArgument());
  CHECK(store.DestroyUserSessions("").status().IsInvalidArgument());
  CHECK(*store.ApproximateSize() == 0);  // refused calls stored nothing
}

// 3 threads creating `per_thread` sessions of "shared" through `creator` race a loop logging
// "shared" out through `logout` (the same store, or another view of it): every session is ended
// and counted exactly once, and each thread's own sessions are all there.
inline void CreatesRacingLogoutCountEachOnce(SessionStore& creator, SessionStore& logout,
                                             int per_thread) {
  using testing::kSec;
  constexpr int kThreads = 3;
  std::atomic<uint64_t> destroyed{0};
  std::atomic<bool> creating{true};
  std::thread logouts([&] {
    while (creating.load()) destroyed += *logout.DestroyUserSessions("shared");
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const std::string id = *creator.CreateSession("shared", "s", 60 * kSec);
        (void)creator.GetSession(id);
        (void)*creator.CreateSession("own" + std::to_string(t), "o", 60 * kSec);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  creating = false;
  logouts.join();
  destroyed += *creator.DestroyUserSessions("shared");
  const uint64_t total = uint64_t{kThreads} * static_cast<uint64_t>(per_thread);
  CHECK(destroyed.load() == total);
  for (int t = 0; t < kThreads; ++t) {
    CHECK(logout.ListUserSessions("own" + std::to_string(t))->size() ==
          static_cast<size_t>(per_thread));
  }
  CHECK(*logout.ApproximateSize() == total);
}

}  // namespace larder::contract
