// Events: every type, RAII subscriptions, masks, throwing, re-entrant and slow listeners.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache_fixture.h"
#include "larder/advanced/executor.h"
#include "larder/cache.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;

namespace {

struct Recorder {
  void operator()(const CacheEvent& ev) {
    std::lock_guard lock(mu);
    seen.push_back(std::string(EventTypeName(ev.type)) + ":" + std::string(ev.key) + "=" +
                   std::string(ev.value));
  }
  std::vector<std::string> Take() {
    std::lock_guard lock(mu);
    return std::exchange(seen, {});
  }
  std::mutex mu;
  std::vector<std::string> seen;
};

}  // namespace

TEST_CASE("Events: set, delete, expired, evicted and clear are delivered with payloads") {
  CacheOptions o;
  o.policy = EvictionPolicyKind::kLru;  // a predictable victim
  o.num_shards = 1;
  o.max_entries = 2;
  ManualCache c(o);
  Recorder rec;
  Subscription sub = c->Subscribe(std::ref(rec));
  REQUIRE(c->Set("a", "1").ok());
  REQUIRE(c->Set("b", "2", {.ttl = 1 * kSec}).ok());
  REQUIRE(c->Set("c", "3").ok());  // evicts a
  CHECK(c->Delete("c"));
  c.clock->Advance(1 * kSec);
  c->RunPendingMaintenance();  // b expires
  c->Clear();
  CHECK(rec.Take() == std::vector<std::string>{"set:a=1", "set:b=2", "set:c=3", "evicted:a=1",
                                               "delete:c=3", "invalidated:c=", "expired:b=2",
                                               "clear:="});
}

TEST_CASE("Events: the mask filters and destroying the subscription stops delivery") {
  ManualCache c;
  Recorder rec;
  {
    Subscription sub = c->Subscribe(std::ref(rec), EventBit(EventType::kDelete));
    CHECK(sub.active());
    REQUIRE(c->Set("a", "1").ok());
    CHECK(c->Delete("a"));
  }
  REQUIRE(c->Set("b", "1").ok());
  CHECK(c->Delete("b"));
  CHECK(rec.Take() == std::vector<std::string>{"delete:a=1"});
}

TEST_CASE("Events: a throwing listener is contained and reported to the others") {
  ManualCache c;
  Subscription bad = c->Subscribe([](const CacheEvent& ev) {
    if (ev.type == EventType::kSet) throw std::runtime_error("listener bug");
  });
  std::vector<std::string> errors;
  Subscription good =
      c->Subscribe([&](const CacheEvent& ev) { errors.emplace_back(ev.error->message()); },
                   EventBit(EventType::kError));
  CHECK(c->Set("k", "v").ok());
  CHECK(c.Value("k") == "v");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].find("listener bug") != std::string::npos);
  CHECK(c->GetStats().listener_errors == 1);
}

TEST_CASE("Events: a listener may call back into the cache and unsubscribe itself") {
  ManualCache c;
  Subscription sub;
  int calls = 0;
  sub = c->Subscribe([&](const CacheEvent& ev) {
    ++calls;
    if (ev.key == "trigger") {
      CHECK(c->Set("echo", "from listener").ok());  // re-entrant write
      sub.Reset();                                  // must not wait for itself
    }
  });
  REQUIRE(c->Set("trigger", "x").ok());
  CHECK(c.Value("echo") == "from listener");
  REQUIRE(c->Set("after", "x").ok());
  CHECK(calls == 2);  // trigger, echo; nothing after the reset
}

TEST_CASE("Events: a slow listener blocks only the write that triggered it") {
  ManualCache c;
  REQUIRE(c->Set("other", "v").ok());
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  Subscription sub = c->Subscribe(
      [&](const CacheEvent& ev) {
        if (ev.key != "slow") return;
        std::unique_lock lock(mu);
        entered = true;
        cv.notify_all();
        cv.wait(lock, [&] { return release; });
      },
      EventBit(EventType::kSet));
  std::thread writer([&] { CHECK(c->Set("slow", "v").ok()); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  // The listener is stuck; reads and writes of any key, even the same shard, proceed.
  CHECK(c.Value("other") == "v");
  CHECK(c.Value("slow") == "v");
  CHECK(c->Delete("other"));
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  writer.join();
}

TEST_CASE("Events: unsubscribing waits for a call running on another thread") {
  ManualCache c;
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, release = false;
  std::atomic<bool> finished{false};
  auto sub = std::make_unique<Subscription>(c->Subscribe([&](const CacheEvent&) {
    std::unique_lock lock(mu);
    entered = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
    finished.store(true);
  }));
  std::thread writer([&] { CHECK(c->Set("k", "v").ok()); });
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return entered; });
  }
  std::thread releaser([&] {
    std::lock_guard lock(mu);
    release = true;
    cv.notify_all();
  });
  sub.reset();  // returns only after the running call finished
  CHECK(finished.load());
  releaser.join();
  writer.join();
}

TEST_CASE("Events: load failures are reported as errors with the key") {
  ManualCache c;
  std::vector<std::string> keys;
  Subscription sub = c->Subscribe([&](const CacheEvent& ev) { keys.emplace_back(ev.key); },
                                  EventBit(EventType::kError));
  auto r = c->GetOrSet("k", []() -> Result<std::string> { return Status::Unavailable("down"); });
  CHECK_FALSE(r.ok());
  CHECK(keys == std::vector<std::string>{"k"});
}

TEST_CASE("Events: a subscription may outlive its cache") {
  Subscription sub;
  {
    ManualCache c;
    sub = c->Subscribe([](const CacheEvent&) {});
  }
  sub.Reset();
  CHECK_FALSE(sub.active());
}

TEST_CASE("Events: removals say what named them; writes say whether they were loaded") {
  ManualCache c;
  std::mutex mu;
  std::vector<std::string> seen;
  Subscription sub = c->Subscribe([&](const CacheEvent& ev) {
    static const char* const kScopes[] = {"key", "pattern", "tag"};
    std::lock_guard lock(mu);
    seen.push_back(std::string(EventTypeName(ev.type)) + ":" + std::string(ev.key) + ":" +
                   kScopes[static_cast<int>(ev.scope)] + (ev.loaded ? ":loaded" : "") +
                   (ev.remote ? ":remote" : ""));
  });
  REQUIRE(c->Set("a:1", "v", {.tags = {"t"}}).ok());
  REQUIRE(c->GetOrSet("b:1", [] { return Result<std::string>(std::string("v")); }).ok());
  CHECK(c->Delete("b:1"));
  CHECK_FALSE(c->Delete("absent"));  // still announced: another instance may hold it
  const std::string_view many[] = {"x:1", "gone"};
  CHECK(c->DeleteMany(many) == 0);
  CHECK(*c->InvalidatePattern("a:*") == 1);
  REQUIRE(c->Set("a:2", "v", {.tags = {"t"}}).ok());
  CHECK(c->InvalidateByTag("t") == 1);
  CHECK(c->InvalidateByTag("none") == 0);  // still announced: the family was named
  {
    RemoteScope remote;
    CHECK(RemoteScope::Active());
    REQUIRE(c->Set("c:1", "v").ok());
    CHECK(*c->InvalidatePattern("c:*") == 1);
  }
  CHECK_FALSE(RemoteScope::Active());
  c->Clear();
  std::lock_guard lock(mu);
  CHECK(seen == std::vector<std::string>{
                    "set:a:1:key", "set:b:1:key:loaded", "delete:b:1:key",
                    "invalidated:b:1:key", "invalidated:absent:key", "invalidated:x:1:key",
                    "invalidated:gone:key",
                    "delete:a:1:pattern", "invalidated:a:*:pattern", "set:a:2:key",
                    "delete:a:2:tag", "invalidated:t:tag", "invalidated:none:tag",
                    "set:c:1:key:remote", "delete:c:1:pattern:remote",
                    "invalidated:c:*:pattern:remote", "clear::key"});
}

}  // namespace larder
