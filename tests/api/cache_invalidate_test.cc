// InvalidatePattern: Redis glob syntax over every shard, counts, events, bad patterns.
#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "cache_fixture.h"
#include "larder/cache.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;

TEST_CASE("InvalidatePattern: removes exactly the matching keys across shards") {
  CacheOptions o;
  o.num_shards = 8;
  ManualCache c(o);
  for (int i = 0; i < 200; ++i) {
    REQUIRE(c->Set("companies:list:page=" + std::to_string(i), "v").ok());
    REQUIRE(c->Set("companies:" + std::to_string(i), "v").ok());
  }
  REQUIRE(c->Set("users:1", "v").ok());
  Result<size_t> n = c->InvalidatePattern("companies:list:*");
  REQUIRE(n.ok());
  CHECK(*n == 200);
  CHECK(c->Size() == 201);
  CHECK_FALSE(c->Exists("companies:list:page=7"));
  CHECK(c->Exists("companies:7"));
  CHECK(c->Exists("users:1"));
  // Classes and single-byte wildcards.
  n = c->InvalidatePattern("companies:1[0-4]?");
  REQUIRE(n.ok());
  CHECK(*n == 50);  // companies:100 .. companies:149
  CHECK_FALSE(c->Exists("companies:123"));
  CHECK(c->Exists("companies:12"));
  CHECK(c->Exists("companies:150"));
  // No wildcard: one key.
  n = c->InvalidatePattern("users:1");
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK_FALSE(c->Exists("users:1"));
  n = c->InvalidatePattern("nothing:*");
  REQUIRE(n.ok());
  CHECK(*n == 0);
}

TEST_CASE("InvalidatePattern: expired entries go but are not counted; deletes are reported") {
  CacheOptions o;
  o.num_shards = 2;
  ManualCache c(o);
  std::mutex mu;
  std::vector<std::string> deleted;
  Subscription sub = c->Subscribe(
      [&](const CacheEvent& ev) {
        std::lock_guard lock(mu);
        deleted.emplace_back(ev.key);
      },
      EventBit(EventType::kDelete));
  REQUIRE(c->Set("s:1", "v").ok());
  REQUIRE(c->Set("s:2", "v", {.ttl = 1 * kSec}).ok());
  REQUIRE(c->Set("t:1", "v").ok());
  c.clock->Advance(2 * kSec);  // s:2 expired, not yet collected
  Result<size_t> n = c->InvalidatePattern("s:*");
  REQUIRE(n.ok());
  CHECK(*n == 1);
  std::sort(deleted.begin(), deleted.end());
  CHECK(deleted == std::vector<std::string>{"s:1", "s:2"});
  CHECK(c->Exists("t:1"));
  CHECK(c->GetStats().entries == 1);
}

TEST_CASE("InvalidatePattern: malformed patterns are refused and remove nothing") {
  ManualCache c(CacheOptions{});
  REQUIRE(c->Set("a[1", "v").ok());
  for (const char* bad : {"a[1", "a[]", "[z-a]*", "a\\"}) {
    CAPTURE(bad);
    Result<size_t> n = c->InvalidatePattern(bad);
    REQUIRE_FALSE(n.ok());
    CHECK(n.status().IsInvalidArgument());
    CHECK(n.status().message().find("position") != std::string_view::npos);
  }
  CHECK(c->Exists("a[1"));
  Result<size_t> n = c->InvalidatePattern("a\\[1");  // escaped: the literal key
  REQUIRE(n.ok());
  CHECK(*n == 1);
}

}  // namespace larder
