// Bounds: max_entries and max_bytes never exceeded, LRU victims, removal causes.
#include <string>

#include "cache_fixture.h"
#include "larder/cache.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;

TEST_CASE("Bounds: max_entries is never exceeded") {
  CacheOptions o;
  o.max_entries = 1000;
  ManualCache c(o);
  for (int i = 0; i < 20000; ++i) {
    REQUIRE(c->Set("k" + std::to_string(i), "v").ok());
    REQUIRE(c->Size() <= 1000);
  }
  const CacheStats st = c->GetStats();
  CHECK(st.entries <= 1000);
  CHECK(st.entries >= 900);  // shards fill evenly enough
  CHECK(st.evictions == 20000 - st.entries);
}

TEST_CASE("Bounds: max_bytes is never exceeded and counts key + value + overhead") {
  CacheOptions o;
  o.max_bytes = 64 * 1024;
  ManualCache c(o);
  for (int i = 0; i < 5000; ++i) {
    REQUIRE(c->Set("key" + std::to_string(i), std::string(100 + i % 50, 'v')).ok());
    REQUIRE(c->GetStats().bytes <= o.max_bytes);
  }
  REQUIRE(c->Set("one", std::string(10, 'x')).ok());
  const CacheStats st = c->GetStats();
  CHECK(st.bytes <= o.max_bytes);
  CHECK(st.evictions > 0);
}

TEST_CASE("Bounds: an entry heavier than its shard's share is refused") {
  CacheOptions o;
  o.num_shards = 4;
  o.max_bytes = 4000;
  ManualCache c(o);
  Status s = c->Set("k", std::string(2000, 'x'));
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("max_bytes") != std::string_view::npos);
  CHECK(c->Size() == 0);
}

TEST_CASE("Bounds: the least recently used entry is evicted first") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_entries = 3;
  ManualCache c(o);
  REQUIRE(c->Set("a", "1").ok());
  REQUIRE(c->Set("b", "2").ok());
  REQUIRE(c->Set("c", "3").ok());
  CHECK(c.Value("a") == "1");  // a is now more recent than b and c
  REQUIRE(c->Set("d", "4").ok());
  CHECK_FALSE(c->Exists("b"));
  CHECK(c->Exists("a"));
  CHECK(c.Value("c") == "3");
  REQUIRE(c->Set("e", "5").ok());
  CHECK_FALSE(c->Exists("a"));
  CHECK(c->Exists("c"));
  CHECK(c->Exists("d"));
  CHECK(c->Exists("e"));
}

TEST_CASE("Bounds: every removal is counted under its cause") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_entries = 2;
  ManualCache c(o);
  REQUIRE(c->Set("x", "1").ok());
  REQUIRE(c->Set("x", "2").ok());  // replaced
  REQUIRE(c->Set("t", "v", {.ttl = 1 * kSec}).ok());
  c.clock->Advance(2 * kSec);
  c->RunPendingMaintenance();  // t expired
  REQUIRE(c->Set("y", "1").ok());
  REQUIRE(c->Set("z", "1").ok());  // evicts x (size)
  CHECK(c->Delete("y"));           // explicit
  const CacheStats st = c->GetStats();
  CHECK(st.removals[static_cast<int>(RemovalCause::kReplaced)] == 1);
  CHECK(st.removals[static_cast<int>(RemovalCause::kExpired)] == 1);
  CHECK(st.removals[static_cast<int>(RemovalCause::kSize)] == 1);
  CHECK(st.removals[static_cast<int>(RemovalCause::kExplicit)] == 1);
  CHECK(st.evictions == 1);
  CHECK(st.expirations == 1);
}

TEST_CASE("Bounds: small caches pick few shards automatically") {
  CacheOptions o;
  o.max_entries = 10;
  ManualCache c(o);
  for (int i = 0; i < 10; ++i) REQUIRE(c->Set("k" + std::to_string(i), "v").ok());
  CHECK(c->Size() == 10);  // one shard holds all ten: nothing evicted early
}

}  // namespace larder
