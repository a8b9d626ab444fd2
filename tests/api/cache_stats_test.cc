// Stats: hits, misses, hit rate, loads, bytes; ResetStats.
#include <string>

#include "larder/cache.h"
#include "cache_fixture.h"

namespace larder {
using testing::ManualCache;

TEST_CASE("Stats: hits, misses and hit rate follow reads") {
  ManualCache c;
  REQUIRE(c->Set("a", "1").ok());
  (void)c->Get("a");
  (void)c->Get("a");
  (void)c->Get("a");
  (void)c->Get("missing");
  CHECK(c->Exists("a"));  // not counted
  const CacheStats st = c->GetStats();
  CHECK(st.hits == 3);
  CHECK(st.misses == 1);
  CHECK(st.hit_rate == doctest::Approx(0.75));
  CHECK(st.entries == 1);
  CHECK(st.bytes == 1 + 1 + kEntryOverhead);
  CHECK(st.ToString().find("hits 3") != std::string::npos);
}

TEST_CASE("Stats: loads and load time are counted; ResetStats zeroes counters, not contents") {
  ManualCache c;
  REQUIRE(c->GetOrSet("k", [] () -> Result<std::string> { return std::string("v"); }).ok());
  (void)c->GetOrSet("bad", [] () -> Result<std::string> { return Status::Internal("x"); });
  CacheStats st = c->GetStats();
  CHECK(st.loads == 1);
  CHECK(st.load_failures == 1);
  CHECK(st.misses == 2);
  REQUIRE(c->Set("k", "v2").ok());
  c->ResetStats();
  st = c->GetStats();
  CHECK(st.loads == 0);
  CHECK(st.load_failures == 0);
  CHECK(st.misses == 0);
  CHECK(st.removals[static_cast<int>(RemovalCause::kReplaced)] == 0);
  CHECK(st.entries == 1);
  (void)c->Get("k");
  CHECK(c->GetStats().hits == 1);
}

}  // namespace larder
