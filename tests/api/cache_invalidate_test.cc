// InvalidatePattern: Redis glob syntax over every shard, counts, events, bad patterns.
#include <algorithm>
#include <mutex>
#include <optional>
#include <random>
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
  testing::EventKeys deleted(*c.cache, EventBit(EventType::kDelete));
  REQUIRE(c->Set("s:1", "v").ok());
  REQUIRE(c->Set("s:2", "v", {.ttl = 1 * kSec}).ok());
  REQUIRE(c->Set("t:1", "v").ok());
  c.clock->Advance(2 * kSec);  // s:2 expired, not yet collected
  Result<size_t> n = c->InvalidatePattern("s:*");
  REQUIRE(n.ok());
  CHECK(*n == 1);
  CHECK(deleted.Sorted() == std::vector<std::string>{"s:1", "s:2"});
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

namespace larder {

TEST_CASE("Prefix index: the same removals and listings as a scan, through every change") {
  CacheOptions indexed;
  indexed.num_shards = 4;
  indexed.prefix_index = true;
  CacheOptions scanned;
  scanned.num_shards = 4;
  ManualCache a(indexed);
  ManualCache b(scanned);
  std::mt19937 rng(5);
  const char* const entities[] = {"companies", "projects", "tasks"};
  for (int round = 0; round < 40; ++round) {
    for (int i = 0; i < 200; ++i) {
      const std::string key = std::string(entities[rng() % 3]) +
                              (rng() % 2 ? ":list:" : ":") + std::to_string(rng() % 300);
      const uint32_t op = rng() % 10;
      if (op < 6) {
        const WriteOptions w{.ttl = op == 0 ? std::optional<Duration>(1 * kSec) : std::nullopt};
        REQUIRE(a->Set(key, "v", w).ok());
        REQUIRE(b->Set(key, "v", w).ok());
      } else if (op < 8) {
        CHECK(a->Delete(key) == b->Delete(key));
      }
    }
    if (round % 5 == 4) {
      a.clock->Advance(2 * kSec);
      b.clock->Advance(2 * kSec);
      a->RunPendingMaintenance();
      b->RunPendingMaintenance();
    }
    const std::string pattern = std::string(entities[rng() % 3]) + ":list:" +
                                std::to_string(rng() % 3) + "*";
    Result<std::vector<std::string>> ka = a->Keys(pattern);
    Result<std::vector<std::string>> kb = b->Keys(pattern);
    REQUIRE(ka.ok());
    REQUIRE(kb.ok());
    std::sort(ka->begin(), ka->end());
    std::sort(kb->begin(), kb->end());
    CHECK(*ka == *kb);
    for (const std::string& k : *ka) CHECK(k.starts_with(pattern.substr(0, pattern.size() - 1)));
    CHECK(*a->InvalidatePattern(pattern) == *b->InvalidatePattern(pattern));
    CHECK(a->Size() == b->Size());
  }
  a->Clear();
  CHECK(*a->InvalidatePattern("companies*") == 0);
  REQUIRE(a->Set("companies:1", "v").ok());
  CHECK(*a->InvalidatePattern("companies*") == 1);
}

TEST_CASE("Keys: lists live matches, honours the limit, refuses bad patterns") {
  CacheOptions o;
  o.num_shards = 4;
  ManualCache c(o);
  for (int i = 0; i < 20; ++i) REQUIRE(c->Set("k:" + std::to_string(i), "v").ok());
  REQUIRE(c->Set("k:short", "v", {.ttl = 1 * kSec}).ok());
  c.clock->Advance(2 * kSec);  // expired, not yet removed: not listed
  Result<std::vector<std::string>> keys = c->Keys("k:1*");
  REQUIRE(keys.ok());
  std::sort(keys->begin(), keys->end());
  CHECK(*keys == std::vector<std::string>{"k:1", "k:10", "k:11", "k:12", "k:13", "k:14", "k:15",
                                          "k:16", "k:17", "k:18", "k:19"});
  CHECK(c->Keys("k:*", 5)->size() == 5);
  CHECK(c->Keys("k:s*")->empty());
  CHECK(c->Keys("k:[").status().IsInvalidArgument());
  CHECK(c->Size() == 21);  // nothing removed
}

}  // namespace larder
