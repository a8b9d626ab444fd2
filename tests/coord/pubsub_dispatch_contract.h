// The PubSub contract, continued from pubsub_contract.h: how handlers are called. Reset waits
// for a running call, handlers may re-enter the PubSub, a blocked subscriber's queue is bounded,
// a throwing handler is counted, and a subscription may outlive its PubSub.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <future>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "coord_testing.h"
#include "larder/coord.h"
#include "pubsub_contract.h"

namespace larder::contract {

// Reset waits for a running call of the handler, then destroys the handler (and what it
// captured); messages queued behind the call are discarded.
inline void ResetWaitsForARunningCall(const PubSubUnderTest& t) {
  auto ps = Open(t);
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
  // Once Publish finds nobody, Reset has unsubscribed and is waiting for the running call.
  REQUIRE(testing::Eventually([&] { return *ps->Publish("ch", "after") == 0; }));
  release.set_value();
  resetter.join();
  CHECK(exited_before_reset_returned);
  CHECK(watch.expired());  // the handler was destroyed by Reset, not later on a dispatcher
  REQUIRE(ps->Flush().ok());
  CHECK(calls.load() == 1);  // messages queued behind the running call were discarded
}

// A handler may reset its own subscription (without waiting for itself), publish and subscribe;
// its Flush is refused (it would wait for itself).
inline void HandlerMayUnsubscribeItselfPublishAndSubscribe(const PubSubUnderTest& t) {
  auto ps = Open(t);
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

// A subscriber blocked in its handler keeps the newest `slow_capacity` messages and drops the
// oldest, while `publishers` threads publishing `per_publisher` messages each never wait for it
// and another subscriber of the channel gets every message, each publisher's in order.
inline void BlockedSubscriberDropsOldest(const PubSubUnderTest& t, int publishers,
                                         int per_publisher, size_t slow_capacity) {
  const int total = publishers * per_publisher;
  PubSubOptions delivery;
  delivery.queue_capacity = slow_capacity;
  delivery.dispatcher_threads = 2;
  auto ps = Open(t, delivery);
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
  std::latch fast_all(total + 1);
  SubscribeOptions fast_options;
  fast_options.queue_capacity = static_cast<size_t>(total) + 1;  // never overflows
  std::vector<std::string> fast_seen;
  ChannelSubscription fast = *ps->Subscribe(
      "events",
      [&](const PubSubMessage& m) {
        fast_seen.emplace_back(m.payload);
        fast_all.count_down();
      },
      fast_options);
  CHECK(*ps->Publish("events", "first") == Receivers(t, 2));
  slow_started.get_future().wait();  // the slow handler now blocks one dispatcher thread

  std::vector<std::vector<uint64_t>> counts(publishers);  // what each Publish returned
  std::vector<std::thread> threads;
  for (int p = 0; p < publishers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < per_publisher; ++i) {
        counts[p].push_back(*ps->Publish("events", std::to_string(p) + ":" + std::to_string(i)));
      }
    });
  }
  for (std::thread& th : threads) th.join();  // would hang if Publish waited for the slow one
  fast_all.wait();                            // would hang if the slow one held up the fast one
  for (const std::vector<uint64_t>& returned : counts) {
    for (uint64_t n : returned) CHECK(n == Receivers(t, 2));
  }
  // Each message is queued for both subscriptions by one call: once the fast one has them all,
  // the slow queue has seen the last one too (queued or dropped).
  CHECK(Received(t, [&] {
    const ChannelSubscriptionStats s = slow.Stats();
    return s.queued + s.dropped == static_cast<uint64_t>(total);
  }));
  ChannelSubscriptionStats s = slow.Stats();
  CHECK(s.queued == slow_capacity);
  CHECK(s.dropped == static_cast<uint64_t>(total) - slow_capacity);
  CHECK(s.delivered == 0);  // the first call has not returned
  CHECK(fast.Stats().dropped == 0);

  // The fast subscriber saw everything, each publisher's messages in publish order.
  REQUIRE(fast_seen.size() == static_cast<size_t>(total) + 1);
  CHECK(fast_seen[0] == "first");
  std::vector<int> next(publishers, 0);
  for (size_t k = 1; k < fast_seen.size(); ++k) {
    const int p = fast_seen[k][0] - '0';
    CHECK(fast_seen[k] == std::to_string(p) + ":" + std::to_string(next[p]++));
  }

  release_slow.set_value();
  REQUIRE(ps->Flush().ok());
  s = slow.Stats();
  CHECK(s.delivered == slow_capacity + 1);
  CHECK(s.queued == 0);
  // Drop-oldest keeps the newest messages: per publisher, a run ending at its last message.
  REQUIRE(slow_seen.size() == slow_capacity);
  std::vector<std::vector<int>> kept(publishers);
  for (const std::string& m : slow_seen) kept[m[0] - '0'].push_back(std::stoi(m.substr(2)));
  for (const std::vector<int>& run : kept) {
    for (size_t k = 0; k < run.size(); ++k) {
      CHECK(run[k] == per_publisher - static_cast<int>(run.size() - k));
    }
  }
}

// A handler that throws is counted as failed and goes on receiving.
inline void ThrowingHandlerIsCountedAndKeepsReceiving(const PubSubUnderTest& t) {
  auto ps = Open(t);
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

// A subscription may outlive its PubSub, whose destruction waits for the running call and
// discards what is queued.
inline void SubscriptionMayOutliveItsPubSub(const PubSubUnderTest& t) {
  PubSubOptions delivery;
  delivery.queue_capacity = 8;
  delivery.dispatcher_threads = 1;
  auto ps = Open(t, delivery);
  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  int calls = 0;
  ChannelSubscription sub = *ps->Subscribe("ch", [&](const PubSubMessage&) {
    if (++calls == 1) entered.set_value();
    released.wait();
  });
  for (int i = 0; i < 5; ++i) CHECK(*ps->Publish("ch", "m") == 1);
  entered.get_future().wait();
  CHECK(Received(t, [&] { return sub.Stats().queued == 4; }));  // behind the running call
  std::thread destroyer([&] { ps.reset(); });  // waits for the running call, drops the rest
  CHECK(testing::Eventually([&] { return sub.Stats().queued == 0; }));  // discarded
  release.set_value();
  destroyer.join();
  CHECK(calls == 1);
  CHECK(sub.active());
  sub.Reset();
  CHECK_FALSE(sub.active());
}

}  // namespace larder::contract
