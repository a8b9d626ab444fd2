// Local pub/sub: channels and patterns, RAII unsubscribe, bounded queues, ordering under threads.
#include <doctest/doctest.h>

#include <atomic>
#include <future>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "larder/coord.h"

namespace larder {
namespace {

struct Seen {
  std::string channel;
  std::string payload;
  std::string pattern;
  bool operator==(const Seen&) const = default;
};

// A handler that records what it sees. Read the record after Flush() (which orders it).
struct Recorder {
  std::vector<Seen> seen;
  MessageHandler Handler() {
    return [this](const PubSubMessage& m) {
      seen.push_back({std::string(m.channel), std::string(m.payload), std::string(m.pattern)});
    };
  }
};

PubSubOptions Options(size_t queue_capacity, size_t dispatcher_threads) {
  PubSubOptions o;
  o.queue_capacity = queue_capacity;
  o.dispatcher_threads = dispatcher_threads;
  return o;
}

std::unique_ptr<PubSub> NewPubSub(PubSubOptions options = {}) {
  Result<std::unique_ptr<PubSub>> ps = NewLocalPubSub(options);
  REQUIRE(ps.ok());
  return std::move(*ps);
}

}  // namespace

TEST_CASE("PubSub: a channel's subscribers get its messages; Publish counts them") {
  auto ps = NewPubSub();
  Recorder a, b, other;
  ChannelSubscription sa = *ps->Subscribe("orders", a.Handler());
  ChannelSubscription sb = *ps->Subscribe("orders", b.Handler());
  ChannelSubscription so = *ps->Subscribe("users", other.Handler());
  CHECK(*ps->Publish("orders", "o1") == 2);
  CHECK(*ps->Publish("users", "u1") == 1);
  CHECK(*ps->Publish("orders", std::string("o\0 2", 4)) == 2);
  CHECK(*ps->Publish("nobody", "lost") == 0);
  CHECK(*ps->Publish("orders:1", "not an exact match") == 0);
  REQUIRE(ps->Flush().ok());
  const std::vector<Seen> want{{"orders", "o1", ""}, {"orders", std::string("o\0 2", 4), ""}};
  CHECK(a.seen == want);
  CHECK(b.seen == want);
  CHECK(other.seen == std::vector<Seen>{{"users", "u1", ""}});
  CHECK(sa.Stats().delivered == 2);
  CHECK(sa.Stats().queued == 0);
}

TEST_CASE("PubSub: pattern subscriptions match Redis globs and name the pattern") {
  auto ps = NewPubSub();
  Recorder star, one, cls, exact;
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
  CHECK(star.seen ==
        std::vector<Seen>{{"orders:7", "p", "orders:*"}, {"orders:", "q", "orders:*"}});
  CHECK(exact.seen == std::vector<Seen>{{"orders:7", "p", ""}});
  CHECK(one.seen == std::vector<Seen>{{"user1", "s", "user?"}});
  CHECK(cls.seen == std::vector<Seen>{{"bx*", "u", "[ab]x\\*"}});
  Result<ChannelSubscription> bad = ps->PSubscribe("orders:[abc", Recorder().Handler());
  REQUIRE(bad.status().IsInvalidArgument());
  CHECK(bad.status().message().find("pattern") != std::string_view::npos);
}

TEST_CASE("PubSub: destroying or moving over a handle unsubscribes") {
  auto ps = NewPubSub();
  Recorder r;
  {
    ChannelSubscription sub = *ps->Subscribe("ch", r.Handler());
    CHECK(sub.active());
    CHECK(*ps->Publish("ch", "1") == 1);
    REQUIRE(ps->Flush().ok());
  }
  CHECK(*ps->Publish("ch", "2") == 0);
  REQUIRE(ps->Flush().ok());
  CHECK(r.seen.size() == 1);

  ChannelSubscription a = *ps->PSubscribe("c*", r.Handler());
  ChannelSubscription b = std::move(a);
  CHECK_FALSE(a.active());  // NOLINT(bugprone-use-after-move): moved-from is documented empty
  CHECK(*ps->Publish("ch", "3") == 1);
  REQUIRE(ps->Flush().ok());                 // one Recorder: its subscriptions must not run at once
  b = *ps->Subscribe("other", r.Handler());  // the pattern subscription ends here
  CHECK(*ps->Publish("ch", "4") == 0);
  CHECK(*ps->Publish("other", "5") == 1);
  REQUIRE(ps->Flush().ok());  // Reset discards what is still queued
  b.Reset();
  CHECK_FALSE(b.active());
  CHECK(b.Stats().delivered == 0);
  CHECK(*ps->Publish("other", "6") == 0);
  REQUIRE(ps->Flush().ok());
  CHECK(r.seen == std::vector<Seen>{{"ch", "1", ""}, {"ch", "3", "c*"}, {"other", "5", ""}});
}

TEST_CASE("PubSub: Reset waits for a running call and releases what the handler captured") {
  auto ps = NewPubSub();
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
  entered.get_future().wait();
  bool exited_before_reset_returned = false;
  std::thread resetter([&] {
    sub.Reset();
    exited_before_reset_returned = exited.load();
  });
  // Once Publish finds nobody, Reset has unsubscribed and is waiting for the running call.
  while (*ps->Publish("ch", "after") != 0) std::this_thread::yield();
  release.set_value();
  resetter.join();
  CHECK(exited_before_reset_returned);
  CHECK(watch.expired());  // the handler was destroyed by Reset, not later on a dispatcher
  REQUIRE(ps->Flush().ok());
  CHECK(calls.load() == 1);  // messages queued behind the running call were discarded
}

TEST_CASE("PubSub: a handler may unsubscribe itself and publish; its Flush is refused") {
  auto ps = NewPubSub();
  Recorder other;
  ChannelSubscription so = *ps->Subscribe("other", other.Handler());
  ChannelSubscription self;
  int calls = 0;
  Status flush_in_handler;
  std::promise<void> done;
  self = *ps->Subscribe("ch", [&](const PubSubMessage&) {
    ++calls;
    self.Reset();  // must not wait for this very call
    flush_in_handler = ps->Flush();
    (void)*ps->Publish("other", "from handler");
    done.set_value();
  });
  CHECK(*ps->Publish("ch", "1") == 1);
  done.get_future().wait();
  REQUIRE(ps->Flush().ok());
  CHECK(calls == 1);
  CHECK_FALSE(self.active());
  CHECK(flush_in_handler.code() == Status::Code::kFailedPrecondition);
  CHECK(other.seen == std::vector<Seen>{{"other", "from handler", ""}});
  CHECK(*ps->Publish("ch", "2") == 0);
}

TEST_CASE("PubSub: a blocked subscriber drops its oldest messages; publishers and others flow") {
  constexpr int kPublishers = 2;
  constexpr int kPerPublisher = 2000;
  constexpr size_t kSlowCapacity = 16;
  auto ps = NewPubSub(Options(kSlowCapacity, 2));
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
  std::latch fast_all(kPublishers * kPerPublisher + 1);
  SubscribeOptions fast_options;
  fast_options.queue_capacity = kPublishers * kPerPublisher + 1;  // never overflows
  std::vector<std::string> fast_seen;
  ChannelSubscription fast = *ps->Subscribe(
      "events",
      [&](const PubSubMessage& m) {
        fast_seen.emplace_back(m.payload);
        fast_all.count_down();
      },
      fast_options);
  CHECK(*ps->Publish("events", "first") == 2);
  slow_started.get_future().wait();  // the slow handler now blocks one dispatcher thread

  std::atomic<int> miscounted{0};
  std::vector<std::thread> publishers;
  for (int t = 0; t < kPublishers; ++t) {
    publishers.emplace_back([&, t] {
      for (int i = 0; i < kPerPublisher; ++i) {
        const std::string payload = std::to_string(t) + ":" + std::to_string(i);
        if (*ps->Publish("events", payload) != 2) ++miscounted;
      }
    });
  }
  for (std::thread& t : publishers) t.join();  // would hang if Publish waited for the slow one
  fast_all.wait();                             // would hang if the slow one held up the fast one
  CHECK(miscounted.load() == 0);
  ChannelSubscriptionStats s = slow.Stats();
  CHECK(s.queued == kSlowCapacity);
  CHECK(s.dropped == kPublishers * kPerPublisher - kSlowCapacity);
  CHECK(s.delivered == 0);  // the first call has not returned
  CHECK(fast.Stats().dropped == 0);

  // The fast subscriber saw everything, each publisher's messages in publish order.
  REQUIRE(fast_seen.size() == kPublishers * kPerPublisher + 1);
  CHECK(fast_seen[0] == "first");
  std::vector<int> next(kPublishers, 0);
  for (size_t k = 1; k < fast_seen.size(); ++k) {
    const int t = fast_seen[k][0] - '0';
    CHECK(fast_seen[k] == std::to_string(t) + ":" + std::to_string(next[t]++));
  }

  release_slow.set_value();
  REQUIRE(ps->Flush().ok());
  s = slow.Stats();
  CHECK(s.delivered == kSlowCapacity + 1);
  CHECK(s.queued == 0);
  // Drop-oldest keeps the newest messages: per publisher, a run ending at its last message.
  REQUIRE(slow_seen.size() == kSlowCapacity);
  std::vector<std::vector<int>> kept(kPublishers);
  for (const std::string& p : slow_seen) kept[p[0] - '0'].push_back(std::stoi(p.substr(2)));
  for (const std::vector<int>& run : kept) {
    for (size_t k = 0; k < run.size(); ++k) {
      CHECK(run[k] == kPerPublisher - static_cast<int>(run.size() - k));
    }
  }
}

TEST_CASE("PubSub: a throwing handler is counted and keeps receiving") {
  auto ps = NewPubSub();
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

TEST_CASE("PubSub: a subscription may outlive its PubSub, which discards what is queued") {
  auto ps = NewPubSub(Options(8, 1));
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  int calls = 0;
  ChannelSubscription sub = *ps->Subscribe("ch", [&](const PubSubMessage&) {
    if (++calls == 1) entered.set_value();
    released.wait();
  });
  for (int i = 0; i < 5; ++i) CHECK(*ps->Publish("ch", "m") == 1);
  entered.get_future().wait();
  CHECK(sub.Stats().queued == 4);
  std::thread destroyer([&] { ps.reset(); });  // waits for the running call, drops the rest
  while (sub.Stats().queued != 0) std::this_thread::yield();  // the queue was discarded
  release.set_value();
  destroyer.join();
  CHECK(calls == 1);
  CHECK(sub.active());
  sub.Reset();
  CHECK_FALSE(sub.active());
}

TEST_CASE("PubSub: zero capacities or threads and empty handlers are refused") {
  Result<std::unique_ptr<PubSub>> r = NewLocalPubSub(Options(0, 2));
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("queue_capacity") != std::string_view::npos);
  r = NewLocalPubSub(Options(1024, 0));
  REQUIRE(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("dispatcher_threads") != std::string_view::npos);
  auto ps = NewPubSub();
  Result<ChannelSubscription> s = ps->Subscribe("ch", MessageHandler());
  REQUIRE(s.status().IsInvalidArgument());
  CHECK(s.status().message().find("handler") != std::string_view::npos);
  CHECK(ps->PSubscribe("c*", nullptr).status().IsInvalidArgument());
  CHECK(*ps->Publish("ch", "x") == 0);
  CHECK(ps->Flush().ok());  // nothing to wait for
}

}  // namespace larder
