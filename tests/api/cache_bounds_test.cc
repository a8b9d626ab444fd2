// Bounds: max_entries and max_bytes never exceeded, victims per policy, weigher, pinning, causes.
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

TEST_CASE("Bounds: with the LRU policy the least recently used entry is evicted first") {
  CacheOptions o;
  o.policy = EvictionPolicyKind::kLru;
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
  o.policy = EvictionPolicyKind::kLru;
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

namespace larder {

TEST_CASE("Bounds: every policy keeps max_entries and max_bytes") {
  for (EvictionPolicyKind kind :
       {EvictionPolicyKind::kLru, EvictionPolicyKind::kWTinyLfu, EvictionPolicyKind::kS3Fifo}) {
    CAPTURE(static_cast<int>(kind));
    CacheOptions o;
    o.policy = kind;
    o.max_entries = 500;
    o.max_bytes = 40 * 1024;
    ManualCache c(o);
    for (int i = 0; i < 5000; ++i) {
      const std::string key = "k" + std::to_string(i % 1500);
      if (i % 3 == 0) (void)c->Get("k" + std::to_string(i % 97));
      REQUIRE(c->Set(key, std::string(20 + i % 70, 'v')).ok());
      const CacheStats st = c->GetStats();
      REQUIRE(st.entries <= 500);
      REQUIRE(st.bytes <= o.max_bytes);
    }
    CHECK(c->GetStats().evictions > 0);
  }
}

TEST_CASE("Bounds: the default policy keeps a hot set through a one-pass scan") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_entries = 1000;
  CHECK(o.policy == EvictionPolicyKind::kWTinyLfu);
  ManualCache c(o);
  ManualCache lru([&] {
    CacheOptions l = o;
    l.policy = EvictionPolicyKind::kLru;
    return l;
  }());
  for (int round = 0; round < 20; ++round) {
    for (int k = 0; k < 500; ++k) {
      for (ManualCache* cache : {&c, &lru}) {
        const std::string key = "hot" + std::to_string(k);
        if (!(*cache)->Exists(key)) REQUIRE((*cache)->Set(key, "v").ok());
        (void)(*cache)->Get(key);
      }
    }
  }
  for (int k = 0; k < 10'000; ++k) {
    REQUIRE(c->Set("scan" + std::to_string(k), "v").ok());
    REQUIRE(lru->Set("scan" + std::to_string(k), "v").ok());
  }
  int kept = 0, lru_kept = 0;
  for (int k = 0; k < 500; ++k) {
    kept += c->Exists("hot" + std::to_string(k)) ? 1 : 0;
    lru_kept += lru->Exists("hot" + std::to_string(k)) ? 1 : 0;
  }
  CHECK(lru_kept == 0);
  CHECK(kept >= 475);
}

TEST_CASE("Bounds: a weigher decides what max_bytes counts; weight 0 pins") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_bytes = 1000;
  // Weight = the value's first byte as a number of units.
  o.weigher = [](std::string_view, std::string_view v) -> uint64_t {
    return v.empty() ? 1 : static_cast<uint8_t>(v[0]);
  };
  ManualCache c(o);
  REQUIRE(c->Set("free", std::string(1, '\0') + std::string(5000, 'x')).ok());  // weight 0
  for (int i = 0; i < 200; ++i) {
    REQUIRE(c->Set("k" + std::to_string(i), std::string(1, char(100))).ok());  // weight 100
    // Ten entries of weight 100 fit, whatever their memory.
    REQUIRE(c->Size() <= 11);
  }
  CHECK(c->Size() == 11);
  CHECK(c->Exists("free"));
  CHECK(c->GetStats().evictions == 190);
  // An entry heavier than the bound is refused, naming the weight.
  Status s = c->Set("heavy", std::string(1, char(200)) + "x");
  CHECK(s.ok());
  o.max_bytes = 150;
  ManualCache small(o);
  s = small->Set("heavy", std::string(1, char(200)));
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("weight 200") != std::string_view::npos);
}

TEST_CASE("Bounds: pinned entries are never evicted and do not count against the bound") {
  for (EvictionPolicyKind kind :
       {EvictionPolicyKind::kLru, EvictionPolicyKind::kWTinyLfu, EvictionPolicyKind::kS3Fifo}) {
    CAPTURE(static_cast<int>(kind));
    CacheOptions o;
    o.num_shards = 1;
    o.max_entries = 50;
    o.policy = kind;
    ManualCache c(o);
    for (int i = 0; i < 20; ++i) {
      REQUIRE(c->Set("pin" + std::to_string(i), "p", {.pin = true}).ok());
    }
    for (int i = 0; i < 5000; ++i) {
      REQUIRE(c->Set("k" + std::to_string(i), "v").ok());
      if (i % 7 == 0) (void)c->Get("k" + std::to_string(i / 2));
    }
    for (int i = 0; i < 20; ++i) CHECK(c->Exists("pin" + std::to_string(i)));
    CHECK(c->Size() == 70);  // 50 evictable + 20 pinned
    // A pinned key rewritten unpinned becomes evictable; an evictable one rewritten pinned stays.
    REQUIRE(c->Set("pin0", "p").ok());
    REQUIRE(c->Set("k4999", "v", {.pin = true}).ok());
    for (int i = 5000; i < 6000; ++i) REQUIRE(c->Set("k" + std::to_string(i), "v").ok());
    CHECK_FALSE(c->Exists("pin0"));
    CHECK(c->Exists("k4999"));
    CHECK(c->Size() == 70);
    // Pinned entries still expire and can be deleted.
    REQUIRE(c->Set("pin-ttl", "p", {.ttl = 1 * kSec, .pin = true}).ok());
    c.clock->Advance(2 * kSec);
    c->RunPendingMaintenance();
    CHECK_FALSE(c->Exists("pin-ttl"));
    CHECK(c->Delete("pin1"));
  }
}

}  // namespace larder
