// Redis pub/sub: the in-process PubSub's contract across connections and processes, shared Redis
// subscriptions, Flush as a barrier, bounded queues, and a server that stops, restarts or stalls.
// Delivery across connections is asynchronous: tests either Flush (every PUBLISH that completed
// before it is then delivered) or wait for the expected event with a generous timeout; none
// sleeps for time to pass.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "child_process.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_server.h"

namespace larder {
namespace {

constexpr auto kPatience = std::chrono::seconds(10);  // for events that come in milliseconds

struct Seen {
  std::string channel;
  std::string payload;
  std::string pattern;
  bool operator==(const Seen&) const = default;
};

// Records what its handlers see; may be waited on.
class Inbox {
 public:
  MessageHandler Handler() {
    return [this](const PubSubMessage& m) {
      std::lock_guard lock(mu_);
      seen_.push_back({std::string(m.channel), std::string(m.payload), std::string(m.pattern)});
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return seen_.size() >= n; });
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Seen> seen_;
};

// Records on_connection_change calls.
class ConnectionEvents {
 public:
  std::function<void(bool)> Callback() {
    return [this](bool up) {
      std::lock_guard lock(mu_);
      events_.push_back(up);
      cv_.notify_all();
    };
  }
  bool WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, kPatience, [&] { return events_.size() >= n; });
  }
  std::vector<bool> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<bool> events_;
};

std::unique_ptr<PubSub> NewPubSub(const RedisOptions& redis,
                                  const RedisPubSubOptions& options = {}) {
  Result<std::unique_ptr<PubSub>> ps = NewRedisPubSub(redis, options);
  REQUIRE(ps.ok());
  return std::move(*ps);
}

// Waits (yielding) until `done()` holds, which another thread makes true within milliseconds;
// false after kPatience.
template <typename Fn>
bool Eventually(Fn&& done) {
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::yield();
  }
  return true;
}

// Options whose reconnections are quick: a test waits milliseconds, not the default 100 ms+.
RedisOptions QuickRetry(const testing::RedisServer& server) {
  RedisOptions o = server.options();
  o.reconnect_backoff_min = std::chrono::milliseconds(1);
  o.reconnect_backoff_max = std::chrono::milliseconds(1);
  return o;
}

}  // namespace

TEST_CASE("RedisPubSub: a channel's subscribers get its messages; Publish counts connections") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  Inbox a, b, other;
  ChannelSubscription sa = *ps->Subscribe("orders", a.Handler());
  ChannelSubscription sb = *ps->Subscribe("orders", b.Handler());
  ChannelSubscription so = *ps->Subscribe("users", other.Handler());
  // Two local subscriptions, one Redis subscription: Redis counts this PubSub's connection once.
  CHECK(*ps->Publish("orders", "o1") == 1);
  CHECK(*ps->Publish("users", "u1") == 1);
  CHECK(*ps->Publish("orders", std::string("o\0 2", 4)) == 1);
  CHECK(*ps->Publish("nobody", "lost") == 0);
  CHECK(*ps->Publish("orders:1", "not an exact match") == 0);
  REQUIRE(ps->Flush().ok());  // a barrier: every PUBLISH above has completed
  const std::vector<Seen> want{{"orders", "o1", ""}, {"orders", std::string("o\0 2", 4), ""}};
  CHECK(a.seen() == want);
  CHECK(b.seen() == want);
  CHECK(other.seen() == std::vector<Seen>{{"users", "u1", ""}});
  CHECK(sa.Stats().delivered == 2);
  CHECK(sa.Stats().queued == 0);
}

TEST_CASE("RedisPubSub: pattern subscriptions are matched by the server and name the pattern") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
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

TEST_CASE("RedisPubSub: local subscriptions share one Redis subscription, dropped with the last") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
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

TEST_CASE("RedisPubSub: destroying or moving over a handle unsubscribes") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  Inbox r;
  {
    ChannelSubscription sub = *ps->Subscribe("ch", r.Handler());
    CHECK(sub.active());
    CHECK(*ps->Publish("ch", "1") == 1);
    REQUIRE(ps->Flush().ok());
  }
  REQUIRE(ps->Flush().ok());  // the UNSUBSCRIBE has reached the server
  CHECK(*ps->Publish("ch", "2") == 0);
  ChannelSubscription a = *ps->PSubscribe("c*", r.Handler());
  ChannelSubscription b = std::move(a);
  CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move): moved-from is documented empty
  CHECK(*ps->Publish("ch", "3") == 1);
  REQUIRE(ps->Flush().ok());
  b = *ps->Subscribe("other", r.Handler());  // the pattern subscription ends here
  REQUIRE(ps->Flush().ok());
  CHECK(*ps->Publish("ch", "4") == 0);
  CHECK(*ps->Publish("other", "5") == 1);
  REQUIRE(ps->Flush().ok());
  b.Reset();
  CHECK_FALSE(b.active());
  CHECK(b.Stats().delivered == 0);
  CHECK(r.seen() == std::vector<Seen>{{"ch", "1", ""}, {"ch", "3", "c*"}, {"other", "5", ""}});
}

TEST_CASE("RedisPubSub: Reset waits for a running call and releases what the handler captured") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> calls{0};
  std::atomic<bool> exited{false};
  auto captured = std::make_shared<int>(7);
  std::weak_ptr<int> watch = captured;
  ChannelSubscription sub = *ps->Subscribe("ch", [&, captured](const PubSubMessage&) {
    if (calls.fetch_add(1) == 0) entered.set_value();
    released.wait();
    exited = true;
  });
  captured.reset();
  CHECK(*ps->Publish("ch", "m") == 1);
  CHECK(*ps->Publish("ch", "queued behind") == 1);
  entered.get_future().wait();
  bool exited_before_reset_returned = false;
  std::thread resetter([&] {
    sub.Reset();
    exited_before_reset_returned = exited.load();
  });
  // Once the server has nobody on the channel, Reset has unsubscribed and waits for the call.
  REQUIRE(Eventually([&] { return *ps->Publish("ch", "after") == 0; }));
  release.set_value();
  resetter.join();
  CHECK(exited_before_reset_returned);
  CHECK(watch.expired());  // the handler was destroyed by Reset, not later on a dispatcher
  REQUIRE(ps->Flush().ok());
  CHECK(calls.load() == 1);  // messages queued behind the running call were discarded
}

TEST_CASE("RedisPubSub: a handler may unsubscribe itself, publish and subscribe; Flush refused") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  Inbox other, late;
  ChannelSubscription so = *ps->Subscribe("other", other.Handler());
  ChannelSubscription self, added;
  int calls = 0;
  Status flush_in_handler, subscribe_in_handler;
  std::promise<void> done;
  self = *ps->Subscribe("ch", [&](const PubSubMessage&) {
    ++calls;
    self.Reset();  // must not wait for this very call
    flush_in_handler = ps->Flush();
    (void)*ps->Publish("other", "from handler");
    Result<ChannelSubscription> r = ps->Subscribe("late", late.Handler());
    subscribe_in_handler = r.status();
    if (r.ok()) added = std::move(*r);
    done.set_value();
  });
  CHECK(*ps->Publish("ch", "1") == 1);
  done.get_future().wait();
  CHECK(*ps->Publish("late", "to the handler's subscription") == 1);
  REQUIRE(ps->Flush().ok());
  CHECK(calls == 1);
  CHECK_FALSE(self.active());
  CHECK(flush_in_handler.code() == Status::Code::kFailedPrecondition);
  CHECK(subscribe_in_handler.ok());
  CHECK(other.seen() == std::vector<Seen>{{"other", "from handler", ""}});
  CHECK(late.seen() == std::vector<Seen>{{"late", "to the handler's subscription", ""}});
  CHECK(*ps->Publish("ch", "2") == 0);
}

TEST_CASE("RedisPubSub: two PubSubs, two connections, exchange messages in order") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto a = NewPubSub(server->options());
  auto b = NewPubSub(server->options());
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

TEST_CASE("RedisPubSub: a message published by another process reaches a subscriber") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  Inbox news;
  ChannelSubscription sub = *ps->Subscribe("news", news.Handler());
  constexpr int kCount = 50;
  testing::ChildProcess child("redis-publish", std::to_string(server->port()),
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

TEST_CASE("RedisPubSub: across a server restart: false, then true with subscriptions restored") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions redis = QuickRetry(*server);
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
  auto ps = NewPubSub(redis, options);
  self = ps.get();
  CHECK(events.events().empty());  // not called for the first connection
  Inbox got, by_pattern;
  ChannelSubscription channel = *ps->Subscribe("ch", got.Handler());
  ChannelSubscription pattern = *ps->PSubscribe("c*", by_pattern.Handler());

  server->Stop();
  REQUIRE(events.WaitFor(1));
  CHECK(events.events() == std::vector<bool>{false});
  const auto start = std::chrono::steady_clock::now();
  Result<uint64_t> lost = ps->Publish("ch", "lost");
  REQUIRE(lost.status().IsUnavailable());
  CHECK(std::chrono::steady_clock::now() - start < redis.command_timeout + std::chrono::seconds(1));
  CHECK(lost.status().message().find(std::to_string(server->port())) != std::string_view::npos);
  Result<ChannelSubscription> during = ps->Subscribe("during", got.Handler());
  REQUIRE(during.status().IsUnavailable());
  CHECK(during.status().message().find("down") != std::string_view::npos);
  CHECK(ps->Flush().IsUnavailable());
  CHECK(channel.active());  // subscriptions outlive the outage

  std::string why;
  REQUIRE_MESSAGE(server->Restart(&why), why);
  REQUIRE(events.WaitFor(2));
  CHECK(events.events() == std::vector<bool>{false, true});
  CHECK(flush_in_callback.code() == Status::Code::kFailedPrecondition);
  CHECK(subscribe_in_callback.code() == Status::Code::kFailedPrecondition);
  // Told true: the new server has both subscriptions again.
  testing::RawRedis raw(server->port());
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

TEST_CASE("RedisPubSub: a stalled server is noticed by the health PING and reconnected to") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions redis = QuickRetry(*server);
  redis.command_timeout = std::chrono::milliseconds(150);
  ConnectionEvents events;
  RedisPubSubOptions options;
  options.on_connection_change = events.Callback();
  options.ping_interval = std::chrono::milliseconds(20);
  auto ps = NewPubSub(redis, options);
  Inbox got;
  ChannelSubscription sub = *ps->Subscribe("ch", got.Handler());
  testing::RawRedis raw(server->port());
  REQUIRE(raw.ok());
  // The server stops answering every client (the sockets stay open) for half a second.
  REQUIRE(raw.Run({"CLIENT", "PAUSE", "500", "ALL"}) == "OK");
  REQUIRE(events.WaitFor(2));
  CHECK(events.events() == std::vector<bool>{false, true});
  CHECK(raw.Int({"PUBLISH", "ch", "after the stall"}) == 1);
  REQUIRE(ps->Flush().ok());
  CHECK(got.seen() == std::vector<Seen>{{"ch", "after the stall", ""}});
}

TEST_CASE("RedisPubSub: a blocked subscriber drops its oldest messages; others flow") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  constexpr size_t kSlowCapacity = 8;
  constexpr int kMessages = 300;
  RedisPubSubOptions options;
  options.delivery.queue_capacity = kSlowCapacity;
  options.delivery.dispatcher_threads = 2;
  auto ps = NewPubSub(server->options(), options);
  std::promise<void> slow_started, release_slow;
  std::shared_future<void> slow_released = release_slow.get_future().share();
  std::vector<std::string> slow_seen;
  bool slow_first = true;
  ChannelSubscription slow = *ps->Subscribe("events", [&](const PubSubMessage& m) {
    if (slow_first) {
      slow_first = false;
      slow_started.set_value();
      slow_released.wait();
      return;
    }
    slow_seen.emplace_back(m.payload);
  });
  std::latch fast_all(kMessages + 1);
  SubscribeOptions fast_options;
  fast_options.queue_capacity = kMessages + 1;  // never overflows
  std::vector<std::string> fast_seen;
  ChannelSubscription fast = *ps->Subscribe(
      "events",
      [&](const PubSubMessage& m) {
        fast_seen.emplace_back(m.payload);
        fast_all.count_down();
      },
      fast_options);
  CHECK(*ps->Publish("events", "first") == 1);
  slow_started.get_future().wait();  // the slow handler now blocks one dispatcher thread
  for (int i = 0; i < kMessages; ++i) CHECK(*ps->Publish("events", std::to_string(i)) == 1);
  fast_all.wait();  // would hang if the slow subscriber held up the fast one
  // Each message is queued for both subscriptions by one call; wait until the slow queue has
  // seen the last one too (queued or dropped).
  REQUIRE(Eventually([&] {
    const ChannelSubscriptionStats s = slow.Stats();
    return s.queued + s.dropped == kMessages;
  }));
  const ChannelSubscriptionStats s = slow.Stats();
  CHECK(s.queued == kSlowCapacity);
  CHECK(s.dropped == kMessages - kSlowCapacity);
  CHECK(s.delivered == 0);  // the first call has not returned
  CHECK(fast.Stats().dropped == 0);
  REQUIRE(fast_seen.size() == kMessages + 1);
  for (int i = 0; i < kMessages; ++i) CHECK(fast_seen[i + 1] == std::to_string(i));

  release_slow.set_value();
  REQUIRE(ps->Flush().ok());
  CHECK(slow.Stats().delivered == kSlowCapacity + 1);
  // Drop-oldest keeps the newest messages.
  REQUIRE(slow_seen.size() == kSlowCapacity);
  for (size_t k = 0; k < kSlowCapacity; ++k) {
    CHECK(slow_seen[k] == std::to_string(kMessages - kSlowCapacity + k));
  }
}

TEST_CASE("RedisPubSub: a throwing handler is counted and keeps receiving") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  auto ps = NewPubSub(server->options());
  std::vector<std::string> seen;
  ChannelSubscription sub = *ps->Subscribe("ch", [&](const PubSubMessage& m) {
    if (m.payload == "bad") throw std::runtime_error("bad message");
    seen.emplace_back(m.payload);
  });
  for (const char* p : {"a", "bad", "b"}) CHECK(*ps->Publish("ch", p) == 1);
  REQUIRE(ps->Flush().ok());
  CHECK(seen == std::vector<std::string>{"a", "b"});
  CHECK(sub.Stats().delivered == 3);
  CHECK(sub.Stats().failed == 1);
}

TEST_CASE("RedisPubSub: a subscription may outlive its PubSub, which discards what is queued") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisPubSubOptions options;
  options.delivery.dispatcher_threads = 1;
  auto ps = NewPubSub(server->options(), options);
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  int calls = 0;
  ChannelSubscription sub = *ps->Subscribe("ch", [&](const PubSubMessage&) {
    if (++calls == 1) entered.set_value();
    released.wait();
  });
  for (int i = 0; i < 5; ++i) CHECK(*ps->Publish("ch", "m") == 1);
  entered.get_future().wait();
  // Received (asynchronously) and queued behind the running call.
  REQUIRE(Eventually([&] { return sub.Stats().queued == 4; }));
  std::thread destroyer([&] { ps.reset(); });  // waits for the running call, drops the rest
  REQUIRE(Eventually([&] { return sub.Stats().queued == 0; }));  // discarded
  release.set_value();
  destroyer.join();
  CHECK(calls == 1);
  CHECK(sub.active());
  sub.Reset();
  CHECK_FALSE(sub.active());
}

TEST_CASE("RedisPubSub: bad options, empty handlers and unreachable servers are refused") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisPubSubOptions options;
  options.delivery.queue_capacity = 0;
  Result<std::unique_ptr<PubSub>> r = NewRedisPubSub(server->options(), options);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("queue_capacity") != std::string_view::npos);
  options = {};
  options.delivery.dispatcher_threads = 0;
  r = NewRedisPubSub(server->options(), options);
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("dispatcher_threads") != std::string_view::npos);
  options = {};
  options.ping_interval = -std::chrono::seconds(1);
  CHECK(NewRedisPubSub(server->options(), options).status().IsInvalidArgument());
  RedisOptions nowhere;
  nowhere.port = testing::UnusedLoopbackPort();
  r = NewRedisPubSub(nowhere);
  REQUIRE(r.status().IsUnavailable());
  CHECK(r.status().message().find(std::to_string(nowhere.port)) != std::string_view::npos);

  auto ps = NewPubSub(server->options());
  Result<ChannelSubscription> s = ps->Subscribe("ch", MessageHandler());
  REQUIRE(s.status().IsInvalidArgument());
  CHECK(s.status().message().find("handler") != std::string_view::npos);
  CHECK(ps->PSubscribe("c*", nullptr).status().IsInvalidArgument());
  CHECK(*ps->Publish("ch", "x") == 0);
  CHECK(ps->Flush().ok());  // nothing to wait for
}

}  // namespace larder
