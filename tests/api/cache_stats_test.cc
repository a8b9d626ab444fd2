// Stats: hits, misses, hit rate, loads, bytes; ResetStats.
#include <string>

#include "cache_fixture.h"
#include "larder/cache.h"

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
  REQUIRE(c->GetOrSet("k", []() -> Result<std::string> { return std::string("v"); }).ok());
  (void)c->GetOrSet("bad", []() -> Result<std::string> { return Status::Internal("x"); });
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

namespace larder {

TEST_CASE("Stats: Prometheus text has one typed family per field and labels every sample") {
  testing::ManualCache c;
  REQUIRE(c->Set("a", "1").ok());
  (void)c->Get("a");
  (void)c->Get("b");
  CHECK(c->Delete("a"));
  const std::string text = c->GetStats().ToPrometheus("users \"v2\"");
  CHECK(text.find("# TYPE larder_cache_hits_total counter\n") != std::string::npos);
  CHECK(text.find("larder_cache_hits_total{cache=\"users \\\"v2\\\"\"} 1\n") != std::string::npos);
  CHECK(text.find("larder_cache_misses_total{cache=\"users \\\"v2\\\"\"} 1\n") !=
        std::string::npos);
  CHECK(
      text.find("larder_cache_removals_total{cache=\"users \\\"v2\\\"\",cause=\"explicit\"} 1\n") !=
      std::string::npos);
  CHECK(text.find("larder_cache_entries{cache=\"users \\\"v2\\\"\"} 0\n") != std::string::npos);
  // Every non-comment line is "name{labels} value" and every family is declared before use.
  size_t samples = 0;
  size_t pos = 0;
  std::string declared;
  while (pos < text.size()) {
    const size_t end = text.find('\n', pos);
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      declared = line.substr(7, line.find(' ', 7) - 7);
      continue;
    }
    if (line[0] == '#') continue;
    ++samples;
    CHECK(line.rfind(declared, 0) == 0);
    CHECK(line.find("} ") != std::string::npos);
  }
  CHECK(samples >= 18);
  CHECK(c->GetStats().ToPrometheus().find("larder_cache_hits_total 1\n") != std::string::npos);
}

TEST_CASE("Stats: ExportPrometheus is the stats' text, with tag and pattern removals counted") {
  testing::ManualCache c;
  REQUIRE(c->Set("a", "1", {.tags = {"t"}}).ok());
  REQUIRE(c->Set("b:1", "1").ok());
  CHECK(c->InvalidateByTag("t") == 1);
  CHECK(*c->InvalidatePattern("b:*") == 1);
  const std::string text = c->ExportPrometheus("svc");
  CHECK(text == c->GetStats().ToPrometheus("svc"));
  CHECK(text.find("larder_cache_removals_total{cache=\"svc\",cause=\"explicit\"} 2\n") !=
        std::string::npos);
}

}  // namespace larder
