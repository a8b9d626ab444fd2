// Redis pub/sub: the PubSub contract (pubsub_contract.h) across a connection, plus shared Redis
// subscriptions, messages across connections and processes, and a server that stops, restarts
// or stalls. Delivery across connections is asynchronous: tests either Flush (every PUBLISH that
// completed before it is then delivered) or wait for the expected event with a generous timeout;
// none sleeps for time to pass.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.h"
#include "coord_testing.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "pubsub_contract.h"
#include "pubsub_dispatch_contract.h"
#include "redis_fixture.h"

namespace larder {
namespace {

using contract::Inbox;
using contract::Seen;

// Records on_connection_change calls.
class ConnectionEvents : public testing::Recorded<bool> {
 public:
  std::function<void(bool)> Callback() {
    return [this](bool up) { Add(up); };
  }
  std::vector<bool> events() const { return items(); }
};

std::unique_ptr<PubSub> NewPubSub(const RedisOptions& redis,
                                  const RedisPubSubOptions& options = {}) {
  return testing::Opened(NewRedisPubSub(redis, options));
}

// PubSubs on the fixture's server.
contract::PubSubUnderTest OverRedis(const testing::RedisFixture& redis) {
  return {.open =
              [&redis](const PubSubOptions& delivery) {
                RedisPubSubOptions options;
                options.delivery = delivery;
                return NewRedisPubSub(redis.options(), options);
              },
          .over_connection = true};
}

// Runs a contract check on a throwaway server (skipped without redis-server).
void RunOverRedis(const std::function<void(const contract::PubSubUnderTest&)>& check) {
  testing::RedisFixture redis;
  if (redis) check(OverRedis(redis));
}

// Options whose reconnections are quick: a test waits milliseconds, not the default 100 ms+.
RedisOptions QuickRetry(const testing::RedisFixture& redis) {
  RedisOptions o = redis.options();
  o.reconnect_backoff_min = std::chrono::milliseconds(1);
  o.reconnect_backoff_max = std::chrono::milliseconds(1);
  return o;
}

}  // namespace

TEST_CASE("PubSub (Redis): a channel's subscribers get its messages; Publish counts connections") {
  RunOverRedis(contract::ChannelSubscribersGetItsMessages);
}

TEST_CASE("PubSub (Redis): pattern subscriptions match Redis globs and name the pattern") {
  RunOverRedis(contract::PatternSubscriptionsMatchRedisGlobs);
}

TEST_CASE("PubSub (Redis): destroying or moving over a handle unsubscribes") {
  RunOverRedis(contract::DestroyingOrMovingOverAHandleUnsubscribes);
}

TEST_CASE("PubSub (Redis): Reset waits for a running call and releases what the handler captured") {
  RunOverRedis(contract::ResetWaitsForARunningCall);
}

TEST_CASE("PubSub (Redis): a handler may unsubscribe itself, publish, subscribe, but not Flush") {
  RunOverRedis(contract::HandlerMayUnsubscribeItselfPublishAndSubscribe);
}

TEST_CASE("PubSub (Redis): a blocked subscriber drops its oldest messages; the others flow") {
  RunOverRedis([](const contract::PubSubUnderTest& t) {
    contract::BlockedSubscriberDropsOldest(t, /*publishers=*/1, /*per_publisher=*/300,
                                           /*slow_capacity=*/8);
  });
}

TEST_CASE("PubSub (Redis): a throwing handler is counted and keeps receiving") {
  RunOverRedis(contract::ThrowingHandlerIsCountedAndKeepsReceiving);
}

TEST_CASE("PubSub (Redis): a subscription may outlive its PubSub, which discards what is queued") {
  RunOverRedis(contract::SubscriptionMayOutliveItsPubSub);
}

TEST_CASE("PubSub (Redis): bad options, empty handlers and unreachable servers are refused") {
  testing::RedisFixture redis;
  if (!redis) return;
  contract::RefusesZeroCapacitiesAndEmptyHandlers(OverRedis(redis));
  RedisPubSubOptions options;
  options.ping_interval = -std::chrono::seconds(1);
  CHECK(NewRedisPubSub(redis.options(), options).status().IsInvalidArgument());
  RedisOptions nowhere;
  nowhere.port = testing::UnusedLoopbackPort();
  Result<std::unique_ptr<PubSub>> r = NewRedisPubSub(nowhere);
  REQUIRE(r.status().IsUnavailable());
  CHECK(r.status().message().find(std::to_string(nowhere.port)) != std::string_view::npos);
}

TEST_CASE("PubSub (Redis): local subscriptions share a Redis subscription, dropped with the last") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto ps = NewPubSub(redis.options());
  testing::RawRedis& raw = redis.raw();
  Inbox inbox;
  ChannelSubscription c1 = *ps->Subscribe("orders", inbox.Handler());
  ChannelSubscription c2 = *ps->Subscribe("orders", inbox.Handler());
  ChannelSubscription p1 = *ps->PSubscribe("ord*", inbox.Handler());
  ChannelSubscription p2 = *ps->PSubscribe("ord*", inbox.Handler());
  // Subscribe returned: the server has the subscriptions already.
  CHECK(raw.Run({"PUBSUB", "NUMSUB", "orders"}) == "orders 1");
  CHECK(raw.Int({"PUBSUB", "NUMPAT"}) == 1);
  c1.Reset();
  p1.Reset();
  REQUIRE(ps->Flush().ok());
  CHECK(raw.Run({"PUBSUB", "NUMSUB", "orders"}) == "orders 1");
  CHECK(raw.Int({"PUBSUB", "NUMPAT"}) == 1);
  CHECK(*ps->Publish("orders", "m") == 2);
  REQUIRE(ps->Flush().ok());  // delivered: Reset would discard it
  c2.Reset();
  p2.Reset();
  REQUIRE(ps->Flush().ok());  // the barrier follows the UNSUBSCRIBE and PUNSUBSCRIBE
  CHECK(raw.Run({"PUBSUB", "NUMSUB", "orders"}) == "orders 0");
  CHECK(raw.Int({"PUBSUB", "NUMPAT"}) == 0);
  CHECK(*ps->Publish("orders", "gone") == 0);
  ChannelSubscription again = *ps->Subscribe("orders", inbox.Handler());  // and back
  CHECK(*ps->Publish("orders", "again") == 1);
  REQUIRE(ps->Flush().ok());
  std::vector<Seen> seen = inbox.seen();
  REQUIRE(seen.size() == 3);
  CHECK(seen[2] == Seen{"orders", "again", ""});
}

TEST_CASE("PubSub (Redis): two PubSubs, two connections, exchange messages in order") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto a = NewPubSub(redis.options());
  auto b = NewPubSub(redis.options());
  Inbox at_a, at_b, b_pattern;
  ChannelSubscription sa = *a->Subscribe("to-a", at_a.Handler());
  ChannelSubscription sb = *b->Subscribe("to-b", at_b.Handler());
  ChannelSubscription sp = *b->PSubscribe("to-*", b_pattern.Handler());
  CHECK(*a->Publish("to-b", "hello b") == 2);  // b's channel and b's pattern
  CHECK(*b->Publish("to-a", "hello a") == 2);  // a's channel and b's pattern
  constexpr int kMany = 200;
  for (int i = 0; i < kMany; ++i) CHECK(*a->Publish("to-b", std::to_string(i)) == 2);
  REQUIRE(a->Flush().ok());
  REQUIRE(b->Flush().ok());
  CHECK(at_a.seen() == std::vector<Seen>{{"to-a", "hello a", ""}});
  std::vector<Seen> got = at_b.seen();
  REQUIRE(got.size() == kMany + 1);
  CHECK(got[0] == Seen{"to-b", "hello b", ""});
  for (int i = 0; i < kMany; ++i) CHECK(got[i + 1].payload == std::to_string(i));
  CHECK(b_pattern.seen().size() == kMany + 2);
}

TEST_CASE("PubSub (Redis): a message published by another process reaches a subscriber") {
  testing::RedisFixture redis;
  if (!redis) return;
  auto ps = NewPubSub(redis.options());
  Inbox news;
  ChannelSubscription sub = *ps->Subscribe("news", news.Handler());
  constexpr int kCount = 50;
  testing::ChildProcess child("redis-publish", std::to_string(redis.port()),
                              "news," + std::to_string(kCount));
  unsigned long long receivers = 0;
  CHECK(std::fscanf(child.out, "receivers %llu", &receivers) == 1);
  CHECK(receivers == kCount);  // each message had one receiving connection: this PubSub's
  const int status = child.Wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(news.WaitFor(kCount));  // arrival is asynchronous; Flush would also do
  REQUIRE(ps->Flush().ok());
  std::vector<Seen> got = news.seen();
  REQUIRE(got.size() == kCount);
  for (int i = 0; i < kCount; ++i) CHECK(got[i] == Seen{"news", std::to_string(i), ""});
}

TEST_CASE("PubSub (Redis): across a server restart: false, then true with subscriptions restored") {
  testing::RedisFixture redis;
  if (!redis) return;
  const RedisOptions quick = QuickRetry(redis);
  ConnectionEvents events;
  std::atomic<PubSub*> self{nullptr};
  Status flush_in_callback, subscribe_in_callback;
  RedisPubSubOptions options;
  options.on_connection_change = [&, record = events.Callback()](bool up) {
    if (up && self.load() != nullptr) {
      flush_in_callback = self.load()->Flush();
      subscribe_in_callback = self.load()->Subscribe("x", [](const PubSubMessage&) {}).status();
    }
    record(up);
  };
  auto ps = NewPubSub(quick, options);
  self = ps.get();
  CHECK(events.events().empty());  // not called for the first connection
  Inbox got, by_pattern;
  ChannelSubscription channel = *ps->Subscribe("ch", got.Handler());
  ChannelSubscription pattern = *ps->PSubscribe("c*", by_pattern.Handler());

  redis.server().Stop();
  REQUIRE(events.WaitFor(1));
  CHECK(events.events() == std::vector<bool>{false});
  const auto start = std::chrono::steady_clock::now();
  Result<uint64_t> lost = ps->Publish("ch", "lost");
  REQUIRE(lost.status().IsUnavailable());
  CHECK(std::chrono::steady_clock::now() - start < quick.command_timeout + std::chrono::seconds(1));
  CHECK(lost.status().message().find(std::to_string(redis.port())) != std::string_view::npos);
  Result<ChannelSubscription> during = ps->Subscribe("during", got.Handler());
  REQUIRE(during.status().IsUnavailable());
  CHECK(during.status().message().find("down") != std::string_view::npos);
  CHECK(ps->Flush().IsUnavailable());
  CHECK(channel.active());  // subscriptions outlive the outage

  std::string why;
  REQUIRE_MESSAGE(redis.server().Restart(&why), why);
  REQUIRE(events.WaitFor(2));
  CHECK(events.events() == std::vector<bool>{false, true});
  CHECK(flush_in_callback.code() == Status::Code::kFailedPrecondition);
  CHECK(subscribe_in_callback.code() == Status::Code::kFailedPrecondition);
  // Told true: the new server has both subscriptions again.
  testing::RawRedis raw(redis.port());  // a new connection: the old one died with the server
  REQUIRE(raw.ok());
  CHECK(raw.Run({"PUBSUB", "NUMSUB", "ch", "x"}) == "ch 1 x 0");
  CHECK(raw.Int({"PUBSUB", "NUMPAT"}) == 1);
  CHECK(raw.Int({"PUBLISH", "ch", "back"}) == 2);
  CHECK(*ps->Publish("ch", "again") == 2);  // the publishing pool reconnects too
  REQUIRE(ps->Flush().ok());
  CHECK(got.seen() == std::vector<Seen>{{"ch", "back", ""}, {"ch", "again", ""}});
  CHECK(by_pattern.seen() == std::vector<Seen>{{"ch", "back", "c*"}, {"ch", "again", "c*"}});
  ChannelSubscription after = *ps->Subscribe("during", got.Handler());
  CHECK(*ps->Publish("during", "now") == 1);
  self = nullptr;
}

TEST_CASE("PubSub (Redis): a stalled server is noticed by the health PING and reconnected to") {
  testing::RedisFixture redis;
  if (!redis) return;
  RedisOptions quick = QuickRetry(redis);
  quick.command_timeout = std::chrono::milliseconds(150);
  ConnectionEvents events;
  RedisPubSubOptions options;
  options.on_connection_change = events.Callback();
  options.ping_interval = std::chrono::milliseconds(20);
  auto ps = NewPubSub(quick, options);
  Inbox got;
  ChannelSubscription sub = *ps->Subscribe("ch", got.Handler());
  testing::RawRedis& raw = redis.raw();
  // The server stops answering every client (the sockets stay open) for half a second.
  REQUIRE(raw.Run({"CLIENT", "PAUSE", "500", "ALL"}) == "OK");
  REQUIRE(events.WaitFor(2));
  CHECK(events.events() == std::vector<bool>{false, true});
  CHECK(raw.Int({"PUBLISH", "ch", "after the stall"}) == 1);
  REQUIRE(ps->Flush().ok());
  CHECK(got.seen() == std::vector<Seen>{{"ch", "after the stall", ""}});
}

}  // namespace larder
