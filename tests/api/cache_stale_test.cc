// GetWithStale: fresh, stale-while-revalidate, one refresh per key, fail-safe.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>

#include "cache_fixture.h"
#include "larder/advanced/executor.h"
#include "larder/cache.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;

namespace {

struct StaleCache : ManualCache {
  StaleCache() : ManualCache(Options()) {}
  static CacheOptions Options() {
    CacheOptions o;
    o.executor = executor;
    o.fail_safe_throttle = 5 * kSec;
    return o;
  }
  static inline std::shared_ptr<ManualExecutor> executor;
};

// A fetcher whose answers the test controls.
struct Source {
  Fetcher fetcher() {
    return [this]() -> Result<std::string> {
      ++calls;
      if (!status.ok()) return status;
      return value;
    };
  }
  std::string value = "v1";
  Status status;
  std::atomic<int> calls{0};
};

}  // namespace

TEST_CASE("GetWithStale: fresh values are returned without fetching") {
  StaleCache::executor = std::make_shared<ManualExecutor>();
  StaleCache c;
  Source src;
  auto r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec);
  REQUIRE(r.ok());
  CHECK(*r == "v1");
  CHECK(src.calls == 1);  // a cold key is fetched and waited for
  c.clock->Advance(9 * kSec);
  r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec);
  CHECK(*r == "v1");
  CHECK(src.calls == 1);
  CHECK(StaleCache::executor->pending() == 0);
}

TEST_CASE("GetWithStale: a stale value is returned at once and refreshed once in background") {
  StaleCache::executor = std::make_shared<ManualExecutor>();
  StaleCache c;
  Source src;
  int refreshed = 0;
  Subscription sub = c->Subscribe([&](const CacheEvent& ev) {
    if (ev.type == EventType::kRefreshed) {
      ++refreshed;
      CHECK(ev.value == "v2");
    }
  });
  REQUIRE(c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec).ok());
  src.value = "v2";
  c.clock->Advance(10 * kSec);  // exactly at the fresh deadline: stale
  for (int i = 0; i < 5; ++i) {
    auto r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec);
    REQUIRE(r.ok());
    CHECK(*r == "v1");
  }
  CHECK(StaleCache::executor->pending() == 1);  // one refresh per key at a time
  CHECK(src.calls == 1);
  CHECK(c.Value("k") == "<miss>");  // a plain Get never serves stale
  CHECK(StaleCache::executor->RunPending() == 1);
  CHECK(src.calls == 2);
  CHECK(refreshed == 1);
  auto r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec);
  CHECK(*r == "v2");
  const CacheStats st = c->GetStats();
  CHECK(st.stale_served == 5);
  CHECK(st.refreshes == 1);
  CHECK(st.loads == 2);
}

TEST_CASE("GetWithStale: a refresh does not bring back a key deleted while it was queued") {
  StaleCache::executor = std::make_shared<ManualExecutor>();
  StaleCache c;
  Source src;
  REQUIRE(c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec).ok());
  c.clock->Advance(10 * kSec);
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v1");  // queues a refresh
  REQUIRE(StaleCache::executor->pending() == 1);
  CHECK_FALSE(c->Delete("k"));  // stale, so not live, but removed all the same
  src.value = "v2";
  CHECK(StaleCache::executor->RunPending() == 1);
  CHECK(src.calls == 2);
  CHECK_FALSE(c->Exists("k"));
  CHECK(c->Size() == 0);
}

TEST_CASE("GetWithStale: fail-safe keeps serving stale while refreshes fail, up to stale_ttl") {
  StaleCache::executor = std::make_shared<ManualExecutor>();
  StaleCache c;
  Source src;
  int errors = 0;
  Subscription sub =
      c->Subscribe([&](const CacheEvent&) { ++errors; }, EventBit(EventType::kError));
  REQUIRE(c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec).ok());
  src.status = Status::Unavailable("source down");
  c.clock->Advance(15 * kSec);
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v1");
  StaleCache::executor->RunPending();
  CHECK(errors == 1);
  CHECK(c->GetStats().load_failures == 1);

  // Within the throttle no new refresh is queued; the stale value keeps serving.
  c.clock->Advance(4 * kSec);
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v1");
  CHECK(StaleCache::executor->pending() == 0);
  // After the throttle, another attempt.
  c.clock->Advance(1 * kSec);
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v1");
  CHECK(StaleCache::executor->pending() == 1);
  StaleCache::executor->RunPending();

  // Past stale_ttl (60 s after the write) the value is gone and the error surfaces.
  c.clock->Advance(40 * kSec);
  auto r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsUnavailable());
  c->RunPendingMaintenance();
  CHECK(c->Size() == 0);

  // The source recovers.
  src.status = Status::OK();
  src.value = "v3";
  r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec);
  REQUIRE(r.ok());
  CHECK(*r == "v3");
}

TEST_CASE("GetWithStale: bad ttls are refused") {
  StaleCache::executor = std::make_shared<ManualExecutor>();
  StaleCache c;
  Source src;
  auto r = c->GetWithStale("k", src.fetcher(), Duration::zero(), 60 * kSec);
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("fresh_ttl") == 0);
  r = c->GetWithStale("k", src.fetcher(), 10 * kSec, 5 * kSec);
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("stale_ttl") == 0);
  CHECK(src.calls == 0);
}

TEST_CASE("GetWithStale: a full loader queue skips the refresh and still serves stale") {
  struct Refusing : Executor {
    bool TrySubmit(std::function<void()>) override { return false; }
  };
  CacheOptions o;
  o.executor = std::make_shared<Refusing>();
  ManualCache c(o);
  Source src;
  REQUIRE(c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec).ok());
  c.clock->Advance(20 * kSec);
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v1");
  // The skipped refresh left no flight behind: a foreground load can still run.
  c.clock->Advance(50 * kSec);
  src.value = "v2";
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v2");
}

TEST_CASE("GetWithStale: the background refresh runs on the default thread pool too") {
  CacheOptions o;
  ManualCache c(o);
  Source src;
  REQUIRE(c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec).ok());
  src.value = "v2";
  c.clock->Advance(11 * kSec);
  CHECK(*c->GetWithStale("k", src.fetcher(), 10 * kSec, 60 * kSec) == "v1");
  // Wait for the pool's thread (not for cache time): the refresh replaces the value.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.Value("k") != "v2" && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::yield();
  }
  CHECK(c.Value("k") == "v2");
}

TEST_CASE("MarkAllStale: stale-capable entries turn stale and refresh; the others go") {
  StaleCache::executor = std::make_shared<ManualExecutor>();
  StaleCache c;
  Source src;
  REQUIRE(c->GetWithStale("swr", src.fetcher(), 10 * kSec, 60 * kSec).ok());
  REQUIRE(c->Set("plain", "p").ok());
  REQUIRE(c->Set("short", "s", {.ttl = 1 * kSec}).ok());
  c.clock->Advance(2 * kSec);  // "short" expired, not yet collected: not live, not counted
  testing::EventKeys deleted(*c.cache, EventBit(EventType::kDelete));
  CHECK(c->MarkAllStale() == 2);
  CHECK_FALSE(c->Exists("plain"));
  CHECK(deleted.Sorted() == std::vector<std::string>{"plain", "short"});
  // "swr" is served stale at once (without a fetch) and refreshed once in the background.
  src.value = "v2";
  auto r = c->GetWithStale("swr", src.fetcher(), 10 * kSec, 60 * kSec);
  REQUIRE(r.ok());
  CHECK(*r == "v1");
  CHECK(src.calls == 1);
  CHECK(StaleCache::executor->pending() == 1);
  StaleCache::executor->RunPending();
  CHECK(*c->GetWithStale("swr", src.fetcher(), 10 * kSec, 60 * kSec) == "v2");
  CHECK(c->MarkAllStale() == 1);  // only the refreshed swr is left
}

}  // namespace larder
