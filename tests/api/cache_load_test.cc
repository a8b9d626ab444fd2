// GetOrSet: cache-aside with single flight; errors and exceptions reach every waiter.
#include <atomic>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cache_fixture.h"
#include "larder/cache.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;

namespace {

// Called inside the leader's fetcher: returns once every other caller is waiting on its load.
void WaitForWaiters(Cache& cache, uint64_t waiters) {
  while (cache.GetStats().coalesced_loads < waiters) std::this_thread::yield();
}

template <typename Fn>
std::vector<Result<std::string>> RunConcurrently(int n, Fn fn) {
  std::vector<Result<std::string>> results(n, Result<std::string>(Status::Aborted("unset")));
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { results[i] = fn(); });
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace

TEST_CASE("GetOrSet: a hit does not call the fetcher") {
  ManualCache c;
  REQUIRE(c->Set("k", "cached").ok());
  auto r = c->GetOrSet("k", []() -> Result<std::string> {
    FAIL("fetched");
    return std::string();
  });
  REQUIRE(r.ok());
  CHECK(*r == "cached");
}

TEST_CASE("GetOrSet: 16 concurrent callers of a cold key run the fetcher once") {
  ManualCache c;
  constexpr int kThreads = 16;
  std::atomic<int> calls{0};
  auto results = RunConcurrently(kThreads, [&] {
    return c->GetOrSet("cold",
                       [&]() -> Result<std::string> {
                         calls.fetch_add(1);
                         WaitForWaiters(*c.cache,
                                        kThreads - 1);  // everyone else is waiting on this load
                         return std::string("loaded");
                       },
                       {.ttl = 60 * kSec});
  });
  CHECK(calls.load() == 1);
  for (const auto& r : results) {
    REQUIRE(r.ok());
    CHECK(*r == "loaded");
  }
  CHECK(c.Value("cold") == "loaded");
  CHECK(c->GetStats().loads == 1);
  CHECK(c->GetStats().coalesced_loads == kThreads - 1);
  CHECK(c->Ttl("cold").remaining == 60 * kSec);
}

TEST_CASE("GetOrSet: a fetcher error reaches every waiter and caches nothing") {
  ManualCache c;
  constexpr int kThreads = 16;
  std::atomic<int> calls{0};
  auto results = RunConcurrently(kThreads, [&] {
    return c->GetOrSet("k", [&]() -> Result<std::string> {
      calls.fetch_add(1);
      WaitForWaiters(*c.cache, kThreads - 1);
      return Status::Unavailable("database down");
    });
  });
  CHECK(calls.load() == 1);
  for (const auto& r : results) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsUnavailable());
    CHECK(r.status().message() == "database down");
  }
  CHECK_FALSE(c->Exists("k"));
  CHECK(c->GetStats().load_failures == 1);
  // The next call tries again.
  auto again = c->GetOrSet("k", []() -> Result<std::string> { return std::string("ok"); });
  REQUIRE(again.ok());
  CHECK(*again == "ok");
}

TEST_CASE("GetOrSet: a throwing fetcher becomes an Internal error for every waiter") {
  ManualCache c;
  constexpr int kThreads = 8;
  std::atomic<int> calls{0};
  auto results = RunConcurrently(kThreads, [&] {
    return c->GetOrSet("k", [&]() -> Result<std::string> {
      calls.fetch_add(1);
      WaitForWaiters(*c.cache, kThreads - 1);
      throw std::runtime_error("boom");
    });
  });
  CHECK(calls.load() == 1);
  for (const auto& r : results) {
    REQUIRE(r.status().IsInternal());
    CHECK(r.status().message().find("boom") != std::string_view::npos);
    CHECK(r.status().message().find("'k'") != std::string_view::npos);
  }
  CHECK_FALSE(c->Exists("k"));
}

TEST_CASE("GetOrSet: different keys load independently") {
  ManualCache c;
  std::atomic<int> calls{0};
  auto results = RunConcurrently(8, [&] {
    static std::atomic<int> next{0};
    const std::string key = "k" + std::to_string(next.fetch_add(1));
    return c->GetOrSet(key, [&, key]() -> Result<std::string> {
      calls.fetch_add(1);
      return key;
    });
  });
  CHECK(calls.load() == 8);
  CHECK(c->Size() == 8);
}

TEST_CASE("GetOrSet: invalid arguments are refused before fetching") {
  ManualCache c;
  auto r = c->GetOrSet("k", Fetcher());
  CHECK(r.status().IsInvalidArgument());
  r = c->GetOrSet("k", []() -> Result<std::string> { return std::string("v"); },
                  {.ttl = Duration(-1)});
  CHECK(r.status().IsInvalidArgument());
  CHECK_FALSE(c->Exists("k"));
}

TEST_CASE("GetOrSet: a fetched value that cannot be stored is an error for the caller") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_bytes = 1000;
  ManualCache c(o);
  auto r = c->GetOrSet("k", []() -> Result<std::string> { return std::string(2000, 'v'); });
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("max_bytes") != std::string_view::npos);
  CHECK_FALSE(c->Exists("k"));
}

// A change made while a load runs (here from inside the fetcher, which runs without locks) may
// postdate what the fetcher read: the caller gets the fetched value, the cache keeps the change.
TEST_CASE("GetOrSet: a change of the key during its load wins over the loaded value") {
  ManualCache c;
  const auto load_during = [&](const std::string& key, const std::function<void()>& change) {
    return c->GetOrSet(key, [&]() -> Result<std::string> {
      change();
      return std::string("read before the change");
    });
  };
  SUBCASE("Delete") {
    CHECK(*load_during("k", [&] { CHECK_FALSE(c->Delete("k")); }) == "read before the change");
    CHECK_FALSE(c->Exists("k"));
  }
  SUBCASE("Set") {
    CHECK(*load_during("k", [&] { REQUIRE(c->Set("k", "newer").ok()); }) ==
          "read before the change");
    CHECK(c.Value("k") == "newer");
  }
  SUBCASE("a matching pattern; another key's load is not affected") {
    CHECK(*load_during("user:1", [&] { CHECK(*c->InvalidatePattern("user:*") == 0); }) ==
          "read before the change");
    CHECK_FALSE(c->Exists("user:1"));
    CHECK(*load_during("order:1", [&] { CHECK(*c->InvalidatePattern("user:*") == 0); }) ==
          "read before the change");
    CHECK(c->Exists("order:1"));
  }
  SUBCASE("a tag, Clear or MarkAllStale (they supersede every load in flight)") {
    CHECK(*load_during("a", [&] { CHECK(c->InvalidateByTag("t") == 0); }) ==
          "read before the change");
    CHECK(*load_during("b", [&] { c->Clear(); }) == "read before the change");
    CHECK(*load_during("c", [&] { CHECK(c->MarkAllStale() == 0); }) == "read before the change");
    CHECK(c->Size() == 0);
  }
  // A load with no change in between is stored as usual.
  CHECK(*load_during("later", [] {}) == "read before the change");
  CHECK(c->Exists("later"));
}

TEST_CASE("GetOrSet: every waiter of a superseded load gets its value; the next call reloads") {
  ManualCache c;
  constexpr int kThreads = 4;
  std::atomic<int> calls{0};
  auto results = RunConcurrently(kThreads, [&] {
    return c->GetOrSet("k", [&]() -> Result<std::string> {
      calls.fetch_add(1);
      WaitForWaiters(*c.cache, kThreads - 1);
      c->Delete("k");
      return std::string("old");
    });
  });
  CHECK(calls.load() == 1);
  for (const auto& r : results) CHECK(*r == "old");
  CHECK_FALSE(c->Exists("k"));
  CHECK(*c->GetOrSet("k", [] { return Result<std::string>(std::string("new")); }) == "new");
  CHECK(c.Value("k") == "new");
}

TEST_CASE("GetOrSetTimed: the fetcher's ttl shortens the write's, never lengthens it") {
  CacheOptions o;
  o.default_ttl = 60 * kSec;
  ManualCache c(o);
  const auto timed = [](std::optional<Duration> ttl) {
    return [ttl]() -> Result<TimedValue> { return TimedValue{"v", ttl}; };
  };
  CHECK(*c->GetOrSetTimed("short", timed(5 * kSec)) == "v");
  CHECK(*c->Ttl("short").remaining == 5 * kSec);
  CHECK(*c->GetOrSetTimed("asked", timed(50 * kSec), {.ttl = 20 * kSec}) == "v");
  CHECK(*c->Ttl("asked").remaining == 20 * kSec);
  CHECK(*c->GetOrSetTimed("default", timed(std::nullopt)) == "v");
  CHECK(*c->Ttl("default").remaining == 60 * kSec);
  // Sliding reads would stretch a bound the fetcher set: the deadline stays fixed.
  CHECK(*c->GetOrSetTimed("slide", timed(5 * kSec), {.ttl = 10 * kSec, .sliding = true}) == "v");
  c.clock->Advance(4 * kSec);
  CHECK(c.Value("slide") == "v");
  c.clock->Advance(1 * kSec);
  CHECK(c.Value("slide") == "<miss>");
  // Already out of date: returned, not cached.
  CHECK(*c->GetOrSetTimed("gone", timed(Duration::zero())) == "v");
  CHECK_FALSE(c->Exists("gone"));
  // Errors as GetOrSet: returned, nothing cached; an empty fetcher is refused.
  Result<std::string> failed = c->GetOrSetTimed(
      "err", []() -> Result<TimedValue> { return Status::Unavailable("down"); });
  CHECK(failed.status().code() == Status::Code::kUnavailable);
  CHECK_FALSE(c->Exists("err"));
  CHECK(c->GetOrSetTimed("k", TimedFetcher()).status().code() ==
        Status::Code::kInvalidArgument);
}

}  // namespace larder
