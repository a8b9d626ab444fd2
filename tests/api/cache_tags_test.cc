// Tags: WriteOptions::tags and InvalidateByTag, kept right through every way an entry leaves.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "cache_fixture.h"
#include "larder/cache.h"
#include "temp_dir.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;
using testing::TempDir;

TEST_CASE("Tags: InvalidateByTag removes exactly the entries written with the tag") {
  CacheOptions o;
  o.num_shards = 8;
  ManualCache c(o);
  for (int i = 0; i < 100; ++i) {
    const std::string id = std::to_string(i);
    std::vector<std::string> tags = {"company:" + std::to_string(i % 10)};
    if (i % 2 == 0) tags.push_back("even");
    REQUIRE(c->Set("projects:" + id, "v", {.tags = tags}).ok());
  }
  REQUIRE(c->Set("untagged", "v").ok());
  CHECK(c->InvalidateByTag("company:3") == 10);
  CHECK_FALSE(c->Exists("projects:3"));
  CHECK_FALSE(c->Exists("projects:93"));
  CHECK(c->Exists("projects:4"));
  CHECK(c->InvalidateByTag("company:3") == 0);  // already gone
  CHECK(c->InvalidateByTag("even") == 50);      // none of the company:3 ones were even
  CHECK(c->Size() == 101 - 60);
  CHECK(c->InvalidateByTag("unknown") == 0);
  CHECK(c->Exists("untagged"));
}

TEST_CASE("Tags: a rewrite replaces the key's tags; duplicates count once") {
  ManualCache c;
  REQUIRE(c->Set("k", "1", {.tags = {"old", "old", "both"}}).ok());
  REQUIRE(c->Set("k", "2", {.tags = {"new", "both"}}).ok());
  CHECK(c->InvalidateByTag("old") == 0);
  CHECK(c.Value("k") == "2");
  CHECK(c->InvalidateByTag("both") == 1);
  CHECK_FALSE(c->Exists("k"));
  REQUIRE(c->Set("k", "3", {.tags = {"new"}}).ok());
  REQUIRE(c->Set("k", "4").ok());  // untagged now
  CHECK(c->InvalidateByTag("new") == 0);
  CHECK(c.Value("k") == "4");
}

TEST_CASE("Tags: deleted, expired and evicted entries leave the tag index") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_entries = 50;
  ManualCache c(o);
  for (int i = 0; i < 500; ++i) {
    REQUIRE(c->Set("e:" + std::to_string(i), "v", {.tags = {"t"}}).ok());
  }
  REQUIRE(c->Set("x:1", "v", {.ttl = 1 * kSec, .tags = {"t"}}).ok());
  REQUIRE(c->Set("x:2", "v", {.tags = {"t"}}).ok());
  CHECK(c->Delete("x:2"));
  c.clock->Advance(2 * kSec);
  c->RunPendingMaintenance();  // x:1 expires, evictions settle
  const size_t live = c->Size();
  CHECK(live <= 50);
  // Every remaining entry is found through the tag, and nothing freed is touched.
  CHECK(c->InvalidateByTag("t") == live);
  CHECK(c->Size() == 0);
  c->RunPendingMaintenance();
}

TEST_CASE("Tags: GetOrSet caches with tags; removals are reported as deletes") {
  ManualCache c;
  testing::EventKeys deleted(*c.cache, EventBit(EventType::kDelete));
  Result<std::string> v =
      c->GetOrSet("a", [] { return Result<std::string>(std::string("va")); }, {.tags = {"g"}});
  REQUIRE(v.ok());
  REQUIRE(c->Set("b", "vb", {.tags = {"g"}}).ok());
  CHECK(c->InvalidateByTag("g") == 2);
  CHECK(deleted.Sorted() == std::vector<std::string>{"a", "b"});
}

TEST_CASE("Tags: bad tags are refused with the tag's index and nothing is written") {
  ManualCache c;
  Status s = c->Set("k", "v", {.tags = {"ok", ""}});
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("tags[1]") != std::string::npos);
  s = c->Set("k", "v", {.tags = {std::string(kMaxTagSize + 1, 'x')}});
  CHECK(s.IsInvalidArgument());
  std::vector<std::string> many(kMaxTags + 1);
  for (size_t i = 0; i < many.size(); ++i) many[i] = "t" + std::to_string(i);
  s = c->Set("k", "v", {.tags = many});
  CHECK(s.IsInvalidArgument());
  CHECK_FALSE(c->Exists("k"));
  std::vector<KeyValue> items = {{"a", "1"}, {"b", "2"}};
  CHECK(c->SetMany(items, {.tags = {""}}).IsInvalidArgument());
  CHECK(c->Size() == 0);
  CHECK(c->GetOrSet("k", [] { return Result<std::string>(std::string("v")); }, {.tags = {""}})
            .status()
            .IsInvalidArgument());
}

TEST_CASE("Tags: large values and sliding entries keep their tags") {
  ManualCache c;
  const std::string big(1 << 20, 'b');  // stored outside the slab
  REQUIRE(c->Set("big", big, {.tags = {"t1", "t2"}}).ok());
  REQUIRE(c->Set("slide", "v", {.ttl = 10 * kSec, .sliding = true, .tags = {"t2"}}).ok());
  CHECK(c.Value("big") == big);
  CHECK(c->InvalidateByTag("t2") == 2);
  CHECK(c->Size() == 0);
}

TEST_CASE("Tags: snapshots keep tags") {
  TempDir tmp;
  ManualCache a;
  REQUIRE(a->Set("k1", "v1", {.tags = {"red", "blue"}}).ok());
  REQUIRE(a->Set("k2", "v2", {.tags = {"blue"}}).ok());
  REQUIRE(a->Set("k3", "v3").ok());
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());
  ManualCache b;
  REQUIRE(b->LoadSnapshot(tmp.File("snap")).ok());
  CHECK(b->InvalidateByTag("red") == 1);
  CHECK(b->InvalidateByTag("blue") == 1);
  CHECK(b.Value("k3") == "v3");
}

TEST_CASE("Tags: tags and index nodes count towards max_bytes and the byte stats") {
  CacheOptions o;
  o.num_shards = 1;
  ManualCache plain(o);
  REQUIRE(plain->Set("k", "v").ok());
  const uint64_t base = plain->GetStats().bytes;
  CHECK(base == 1 + 1 + kEntryOverhead);
  REQUIRE(plain->Set("k", "v", {.tags = {"ab", "c"}}).ok());
  // Encoded tags are 2 + 3 bytes; each tag's index node is charged 32.
  CHECK(plain->GetStats().bytes == base + 5 + 2 * 32);
  REQUIRE(plain->Set("k", "v").ok());
  CHECK(plain->GetStats().bytes == base);
  o.prefix_index = true;
  ManualCache indexed(o);
  REQUIRE(indexed->Set("k", "v").ok());
  CHECK(indexed->GetStats().bytes == base + 80);

  // Heavy tags cannot carry a cache past its bound.
  o.prefix_index = false;
  o.max_bytes = 64 << 10;
  ManualCache bounded(o);
  std::vector<std::string> tags;
  for (int t = 0; t < 64; ++t) tags.push_back(std::string(200, static_cast<char>('a' + t % 26)) +
                                              std::to_string(t));
  for (int i = 0; i < 100; ++i) {
    REQUIRE(bounded->Set("k" + std::to_string(i), "v", {.tags = tags}).ok());
  }
  bounded->RunPendingMaintenance();
  CHECK(bounded->GetStats().bytes <= o.max_bytes);
  CHECK(bounded->Size() <= 4);  // each entry weighs over 14 KB
  std::vector<std::string> too_many = tags;
  for (std::string& t : too_many) t.resize(255, 'x');
  o.max_bytes = 16 << 10;
  ManualCache small(o);
  Status s = small->Set("k", "v", {.tags = too_many});
  CHECK(s.IsInvalidArgument());  // heavier than the whole bound
  CHECK(s.message().find("max_bytes") != std::string::npos);
}

}  // namespace larder
