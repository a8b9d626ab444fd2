// Expiry: the exact boundary, default TTL, sliding TTL, prompt removal by maintenance.
#include <string>
#include <vector>

#include "cache_fixture.h"
#include "larder/cache.h"

namespace larder {
using testing::kMs;
using testing::kSec;
using testing::ManualCache;

TEST_CASE("TTL: an entry is expired exactly when now >= expires_at") {
  ManualCache c;
  REQUIRE(c->Set("k", "v", {.ttl = 10 * kSec}).ok());
  c.clock->Advance(10 * kSec - Duration(1));
  CHECK(c.Value("k") == "v");
  CHECK(c->Exists("k"));
  c.clock->Advance(Duration(1));
  CHECK(c.Value("k") == "<miss>");
  CHECK_FALSE(c->Exists("k"));
  CHECK_FALSE(c->Ttl("k").exists);
}

TEST_CASE("TTL: default_ttl applies when a write gives none; a write's own ttl wins") {
  CacheOptions o;
  o.default_ttl = 5 * kSec;
  ManualCache c(o);
  REQUIRE(c->Set("default", "v").ok());
  REQUIRE(c->Set("own", "v", {.ttl = 20 * kSec}).ok());
  c.clock->Advance(5 * kSec);
  CHECK(c.Value("default") == "<miss>");
  CHECK(c.Value("own") == "v");
}

TEST_CASE("TTL: an overwrite restarts the clock") {
  ManualCache c;
  REQUIRE(c->Set("k", "v1", {.ttl = 10 * kSec}).ok());
  c.clock->Advance(8 * kSec);
  REQUIRE(c->Set("k", "v2", {.ttl = 10 * kSec}).ok());
  c.clock->Advance(8 * kSec);
  CHECK(c.Value("k") == "v2");
  c->RunPendingMaintenance();
  CHECK(c.Value("k") == "v2");
}

TEST_CASE("TTL: expired entries are removed by maintenance without any read") {
  ManualCache c;
  std::vector<std::string> expired;
  Subscription sub = c->Subscribe([&](const CacheEvent& ev) { expired.emplace_back(ev.key); },
                                  EventBit(EventType::kExpired));
  for (int i = 0; i < 100; ++i) {
    REQUIRE(c->Set("short" + std::to_string(i), "v", {.ttl = 1 * kSec}).ok());
    REQUIRE(c->Set("long" + std::to_string(i), "v", {.ttl = 1000 * kSec}).ok());
  }
  c.clock->Advance(1 * kSec + 5 * kMs);
  c->RunPendingMaintenance();
  CHECK(c->Size() == 100);
  CHECK(expired.size() == 100);
  CHECK(c->GetStats().expirations == 100);
  CHECK(c->GetStats().removals[static_cast<int>(RemovalCause::kExpired)] == 100);
}

TEST_CASE("TTL: sliding entries live while read and expire ttl after the last read") {
  ManualCache c;
  REQUIRE(c->Set("session", "s", {.ttl = 10 * kSec, .sliding = true}).ok());
  for (int i = 0; i < 5; ++i) {
    c.clock->Advance(6 * kSec);
    c->RunPendingMaintenance();
    REQUIRE(c.Value("session") == "s");  // each read pushes the deadline to now + 10 s
  }
  KeyTtl t = c->Ttl("session");
  REQUIRE(t.remaining.has_value());
  CHECK(*t.remaining == 10 * kSec);
  c.clock->Advance(10 * kSec);
  CHECK(c.Value("session") == "<miss>");
  c->RunPendingMaintenance();
  CHECK(c->Size() == 0);
}

TEST_CASE("TTL: Exists and Ttl do not extend a sliding entry") {
  ManualCache c;
  REQUIRE(c->Set("session", "s", {.ttl = 10 * kSec, .sliding = true}).ok());
  c.clock->Advance(6 * kSec);
  CHECK(c->Exists("session"));
  CHECK(c->Ttl("session").exists);
  c.clock->Advance(4 * kSec);
  CHECK_FALSE(c->Exists("session"));
}

TEST_CASE("TTL: a non-sliding entry is not extended by reads") {
  ManualCache c;
  REQUIRE(c->Set("k", "v", {.ttl = 10 * kSec}).ok());
  c.clock->Advance(9 * kSec);
  CHECK(c.Value("k") == "v");
  c.clock->Advance(1 * kSec);
  CHECK(c.Value("k") == "<miss>");
}

TEST_CASE("TTL: very long TTLs do not overflow") {
  ManualCache c;
  REQUIRE(c->Set("k", "v", {.ttl = Duration::max()}).ok());
  c.clock->Advance(std::chrono::hours(24 * 365 * 100));
  CHECK(c.Value("k") == "v");
  c->RunPendingMaintenance();
  CHECK(c.Value("k") == "v");
}

}  // namespace larder

namespace larder {

TEST_CASE("TTL: the largest durations saturate instead of overflowing") {
  testing::ManualCache c;
  c.clock->Advance(std::chrono::hours(1));
  REQUIRE(c->Set("sliding", "v", {.ttl = Duration::max(), .sliding = true}).ok());
  CHECK(c.Value("sliding") == "v");  // extending by Duration::max() must not wrap around
  c.clock->Advance(std::chrono::hours(24 * 365));
  CHECK(c.Value("sliding") == "v");
  auto r = c->GetWithStale(
      "stale", []() -> Result<std::string> { return std::string("s"); }, Duration::max(),
      Duration::max());
  REQUIRE(r.ok());
  c.clock->Advance(std::chrono::hours(24 * 365));
  c->RunPendingMaintenance();
  CHECK(c->Exists("stale"));
  const KeyTtl t = c->Ttl("stale");
  REQUIRE(t.remaining.has_value());
  CHECK(t.remaining->count() > 0);
}

}  // namespace larder

namespace larder {

TEST_CASE("TTL: an overwrite with a shorter ttl expires at the shorter deadline") {
  testing::ManualCache c;
  REQUIRE(c->Set("k", "long", {.ttl = 100 * testing::kSec}).ok());
  REQUIRE(c->Set("k", "short", {.ttl = 1 * testing::kSec}).ok());
  c.clock->Advance(1 * testing::kSec + 5 * testing::kMs);
  c->RunPendingMaintenance();
  CHECK(c->Size() == 0);
  CHECK(c->GetStats().expirations == 1);
}

TEST_CASE("TTL: an overwrite without a ttl never expires, and leaves no timer behind") {
  testing::ManualCache c;
  REQUIRE(c->Set("k", "v1", {.ttl = 1 * testing::kSec}).ok());
  REQUIRE(c->Set("k", "v2").ok());
  c.clock->Advance(10 * testing::kSec);
  c->RunPendingMaintenance();
  CHECK(c.Value("k") == "v2");
  CHECK(c->GetStats().expirations == 0);
}

}  // namespace larder
