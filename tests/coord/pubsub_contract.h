// The PubSub contract (larder/coord.h), written once and run against the in-process PubSub
// (pubsub_test.cc) and the Redis one (redis_pubsub_test.cc): what reaches whom, and refusals.
// How handlers are called is in pubsub_dispatch_contract.h. Over a connection some things happen
// later than in process (see PubSubUnderTest); the checks then Flush, or wait for the expected
// state with a generous timeout. None sleeps for time to pass.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "coord_testing.h"
#include "larder/coord.h"

namespace larder::contract {

struct Seen {
  std::string channel;
  std::string payload;
  std::string pattern;
  bool operator==(const Seen&) const = default;
};

// Records what its handlers see, from any thread; may be waited on.
class Inbox : public testing::Recorded<Seen> {
 public:
  MessageHandler Handler() {
    return [this](const PubSubMessage& m) {
      Add({std::string(m.channel), std::string(m.payload), std::string(m.pattern)});
    };
  }
  std::vector<Seen> seen() const { return items(); }
};

// An implementation under test.
struct PubSubUnderTest {
  // Opens a PubSub of the implementation, its queues and dispatchers set by `delivery`.
  std::function<Result<std::unique_ptr<PubSub>>(const PubSubOptions& delivery)> open;
  // Messages and unsubscribes travel over a connection (Redis): a message is received some time
  // after its Publish returned, Publish counts an unsubscribe once a Flush has passed it, and
  // Publish counts one receiver per PubSub (connection), not per subscription. In process, all
  // of it is done when the call returns.
  bool over_connection = false;
};

inline std::unique_ptr<PubSub> Open(const PubSubUnderTest& t, const PubSubOptions& delivery = {}) {
  return testing::Opened(t.open(delivery));
}

// What Publish returns for a channel that `subscriptions` (at least 1) of one PubSub share.
inline uint64_t Receivers(const PubSubUnderTest& t, uint64_t subscriptions) {
  return t.over_connection ? 1 : subscriptions;
}

// Returns once Publish no longer counts the subscriptions ended before.
inline void Settle(const PubSubUnderTest& t, PubSub& ps) {
  if (t.over_connection) REQUIRE(ps.Flush().ok());  // the UNSUBSCRIBE has reached the server
}

// Whether `done()` holds once what was published before has been received: at once in process,
// within testing::kPatience over a connection.
template <typename Fn>
bool Received(const PubSubUnderTest& t, Fn&& done) {
  return t.over_connection ? testing::Eventually(done) : done();
}

// A channel's subscribers get its messages (bytes, not C strings), only on an exact match;
// Publish counts the receivers.
inline void ChannelSubscribersGetItsMessages(const PubSubUnderTest& t) {
  auto ps = Open(t);
  Inbox a, b, other;
  ChannelSubscription sa = *ps->Subscribe("orders", a.Handler());
  ChannelSubscription sb = *ps->Subscribe("orders", b.Handler());
  ChannelSubscription so = *ps->Subscribe("users", other.Handler());
  CHECK(*ps->Publish("orders", "o1") == Receivers(t, 2));
  CHECK(*ps->Publish("users", "u1") == 1);
  CHECK(*ps->Publish("orders", std::string("o\0 2", 4)) == Receivers(t, 2));
  CHECK(*ps->Publish("nobody", "lost") == 0);
  CHECK(*ps->Publish("orders:1", "not an exact match") == 0);
  REQUIRE(ps->Flush().ok());  // over a connection, a barrier: every PUBLISH above has completed
  const std::vector<Seen> want{{"orders", "o1", ""}, {"orders", std::string("o\0 2", 4), ""}};
  CHECK(a.seen() == want);
  CHECK(b.seen() == want);
  CHECK(other.seen() == std::vector<Seen>{{"users", "u1", ""}});
  CHECK(sa.Stats().delivered == 2);
  CHECK(sa.Stats().queued == 0);
}

// Pattern subscriptions match Redis globs (* ? [ab] \x) and name the pattern; a malformed
// pattern is refused.
inline void PatternSubscriptionsMatchRedisGlobs(const PubSubUnderTest& t) {
  auto ps = Open(t);
  Inbox star, one, cls, exact;
  ChannelSubscription s1 = *ps->PSubscribe("orders:*", star.Handler());
  ChannelSubscription s2 = *ps->PSubscribe("user?", one.Handler());
  ChannelSubscription s3 = *ps->PSubscribe("[ab]x\\*", cls.Handler());
  ChannelSubscription s4 = *ps->Subscribe("orders:7", exact.Handler());
  CHECK(*ps->Publish("orders:7", "p") == 2);  // the pattern and the exact subscription
  CHECK(*ps->Publish("orders:", "q") == 1);
  CHECK(*ps->Publish("orders", "r") == 0);
  CHECK(*ps->Publish("user1", "s") == 1);
  CHECK(*ps->Publish("user12", "t") == 0);
  CHECK(*ps->Publish("bx*", "u") == 1);
  CHECK(*ps->Publish("cx*", "v") == 0);
  CHECK(*ps->Publish("axy", "w") == 0);
  REQUIRE(ps->Flush().ok());
  CHECK(star.seen() ==
        std::vector<Seen>{{"orders:7", "p", "orders:*"}, {"orders:", "q", "orders:*"}});
  CHECK(exact.seen() == std::vector<Seen>{{"orders:7", "p", ""}});
  CHECK(one.seen() == std::vector<Seen>{{"user1", "s", "user?"}});
  CHECK(cls.seen() == std::vector<Seen>{{"bx*", "u", "[ab]x\\*"}});
  Result<ChannelSubscription> bad = ps->PSubscribe("orders:[abc", Inbox().Handler());
  REQUIRE(bad.status().IsInvalidArgument());
  CHECK(bad.status().message().find("pattern") != std::string_view::npos);
}

// Destroying a handle, moving another over it, or Reset() unsubscribes.
inline void DestroyingOrMovingOverAHandleUnsubscribes(const PubSubUnderTest& t) {
  auto ps = Open(t);
  Inbox r;
  {
    ChannelSubscription sub = *ps->Subscribe("ch", r.Handler());
    CHECK(sub.active());
    CHECK(*ps->Publish("ch", "1") == 1);
    REQUIRE(ps->Flush().ok());
  }
  Settle(t, *ps);
  CHECK(*ps->Publish("ch", "2") == 0);
  REQUIRE(ps->Flush().ok());
  CHECK(r.seen().size() == 1);

  ChannelSubscription a = *ps->PSubscribe("c*", r.Handler());
  ChannelSubscription b = std::move(a);
  CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move): moved-from is documented empty
  CHECK(*ps->Publish("ch", "3") == 1);
  REQUIRE(ps->Flush().ok());
  b = *ps->Subscribe("other", r.Handler());  // the pattern subscription ends here
  Settle(t, *ps);
  CHECK(*ps->Publish("ch", "4") == 0);
  CHECK(*ps->Publish("other", "5") == 1);
  REQUIRE(ps->Flush().ok());  // Reset discards what is still queued
  b.Reset();
  CHECK_FALSE(b.active());
  CHECK(b.Stats().delivered == 0);
  Settle(t, *ps);
  CHECK(*ps->Publish("other", "6") == 0);
  REQUIRE(ps->Flush().ok());
  CHECK(r.seen() == std::vector<Seen>{{"ch", "1", ""}, {"ch", "3", "c*"}, {"other", "5", ""}});
}

// A zero queue capacity or thread count is refused, naming which, and so are empty handlers.
inline void RefusesZeroCapacitiesAndEmptyHandlers(const PubSubUnderTest& t) {
  PubSubOptions delivery;
  delivery.queue_capacity = 0;
  Result<std::unique_ptr<PubSub>> r = t.open(delivery);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("queue_capacity") != std::string_view::npos);
  delivery = {};
  delivery.dispatcher_threads = 0;
  r = t.open(delivery);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("dispatcher_threads") != std::string_view::npos);
  auto ps = Open(t);
  Result<ChannelSubscription> s = ps->Subscribe("ch", MessageHandler());
  REQUIRE(s.status().IsInvalidArgument());
  CHECK(s.status().message().find("handler") != std::string_view::npos);
  CHECK(ps->PSubscribe("c*", nullptr).status().IsInvalidArgument());
  CHECK(*ps->Publish("ch", "x") == 0);
  CHECK(ps->Flush().ok());  // nothing to wait for
}

}  // namespace larder::contract
