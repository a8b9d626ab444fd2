// Cache basics: open, get/set/delete/exists/ttl, bulk calls, handles, bad arguments.
#include <string>
#include <vector>

#include "cache_fixture.h"
#include "larder/cache.h"

namespace larder {
using testing::kSec;
using testing::ManualCache;

TEST_CASE("Cache::Open rejects bad options with a message naming the option") {
  CacheOptions o;
  o.num_shards = 3;
  auto r = Cache::Open(o);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("num_shards") != std::string_view::npos);

  o = {};
  o.default_ttl = Duration(-1);
  r = Cache::Open(o);
  CHECK(r.status().message().find("default_ttl") != std::string_view::npos);

  o = {};
  o.num_shards = 16;
  o.max_entries = 4;
  r = Cache::Open(o);
  CHECK(r.status().message().find("max_entries") != std::string_view::npos);

  o = {};
  o.num_shards = 4;
  o.max_bytes = 100;
  r = Cache::Open(o);
  CHECK(r.status().message().find("max_bytes") != std::string_view::npos);
}

TEST_CASE("Cache: Set then Get, overwrite, Delete, Exists") {
  ManualCache c;
  CHECK(c.Value("user:1") == "<miss>");
  CHECK(c->Set("user:1", "alice").ok());
  CHECK(c.Value("user:1") == "alice");
  CHECK(c->Exists("user:1"));
  CHECK(c->Set("user:1", "alice v2").ok());
  CHECK(c.Value("user:1") == "alice v2");
  CHECK(c->Size() == 1);
  CHECK(c->Delete("user:1"));
  CHECK_FALSE(c->Delete("user:1"));
  CHECK_FALSE(c->Exists("user:1"));
  CHECK(c.Value("user:1") == "<miss>");
}

TEST_CASE("Cache: empty keys and values and binary bytes round-trip") {
  ManualCache c;
  const std::string binary("a\0b\xff", 4);
  CHECK(c->Set("", "empty key").ok());
  CHECK(c->Set("k", "").ok());
  CHECK(c->Set(binary, binary).ok());
  CHECK(c.Value("") == "empty key");
  CHECK(c->Exists("k"));
  CHECK(c.Value("k").empty());
  CHECK(c.Value(binary) == binary);
}

TEST_CASE("Cache: large values beyond a slab object are stored and read back") {
  ManualCache c;
  std::string big(3 << 20, 'x');
  big[12345] = 'y';
  REQUIRE(c->Set("big", big).ok());
  CHECK(c.Value("big") == big);
  CHECK(c->Set("big", "small now").ok());
  CHECK(c.Value("big") == "small now");
}

TEST_CASE("Cache: a ValueHandle reads without copying and survives overwrite and delete") {
  ManualCache c;
  REQUIRE(c->Set("k", "first").ok());
  ValueHandle h = c->Get("k");
  REQUIRE(h);
  CHECK(h.key() == "k");
  const char* bytes = h.value().data();
  CHECK(c->Set("k", "second").ok());
  CHECK(c->Delete("k"));
  c->RunPendingMaintenance();  // would free the old entry if the handle did not pin it
  CHECK(h.value() == "first");
  CHECK(h.value().data() == bytes);
  ValueHandle moved = std::move(h);
  CHECK_FALSE(h);
  CHECK(moved.value() == "first");
  moved.Release();
  CHECK_FALSE(moved);
  CHECK_FALSE(c->Get("k"));
}

TEST_CASE("Cache: Visit passes the value without a copy") {
  ManualCache c;
  REQUIRE(c->Set("k", "v").ok());
  std::string seen;
  CHECK(c->Visit("k", [&](std::string_view v) { seen = v; }));
  CHECK(seen == "v");
  CHECK_FALSE(c->Visit("nope", [&](std::string_view) { FAIL("called for a miss"); }));
}

TEST_CASE("Cache: GetMany, SetMany, DeleteMany") {
  ManualCache c;
  std::vector<KeyValue> items = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  REQUIRE(c->SetMany(items).ok());
  std::vector<std::string_view> keys = {"a", "x", "c"};
  auto got = c->GetMany(keys);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == "1");
  CHECK_FALSE(got[1].has_value());
  CHECK(got[2] == "3");
  std::vector<std::string_view> del = {"a", "b", "zzz"};
  CHECK(c->DeleteMany(del) == 2);
  CHECK(c->Size() == 1);
}

TEST_CASE("Cache: SetMany validates everything first and names the bad item") {
  ManualCache c;
  const std::string huge_key(kMaxKeySize + 1, 'k');
  std::vector<KeyValue> items = {{"ok1", "1"}, {huge_key, "2"}, {"ok2", "3"}};
  Status s = c->SetMany(items);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("items[1]") != std::string_view::npos);
  CHECK(c->Size() == 0);  // nothing half-applied
}

TEST_CASE("Cache: bad arguments return InvalidArgument naming the argument") {
  ManualCache c;
  Status s = c->Set(std::string(kMaxKeySize + 1, 'k'), "v");
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("key") == 0);

  s = c->Set("k", "v", {.ttl = Duration(-5)});
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("ttl") == 0);

  s = c->Set("k", "v", {.ttl = Duration::zero()});
  CHECK(s.IsInvalidArgument());

  s = c->Set("k", "v", {.sliding = true});
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("sliding") == 0);
  CHECK(c->Size() == 0);

  // An over-long key is simply never found.
  CHECK_FALSE(c->Get(std::string(kMaxKeySize + 1, 'k')));
  CHECK_FALSE(c->Delete(std::string(kMaxKeySize + 1, 'k')));
}

TEST_CASE("Cache: a value over kMaxValueSize is refused") {
  ManualCache c;
  // A string_view of the right length over a small buffer: the size check must fire before
  // any byte is read.
  const char byte = 'x';
  Status s = c->Set("k", std::string_view(&byte, kMaxValueSize + 1));
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("value for key 'k'") == 0);
}

TEST_CASE("Cache: Ttl reports missing, persistent and expiring keys") {
  ManualCache c;
  CHECK_FALSE(c->Ttl("none").exists);
  REQUIRE(c->Set("forever", "v").ok());
  KeyTtl t = c->Ttl("forever");
  CHECK(t.exists);
  CHECK_FALSE(t.remaining.has_value());
  REQUIRE(c->Set("temp", "v", {.ttl = 10 * kSec}).ok());
  c.clock->Advance(4 * kSec);
  t = c->Ttl("temp");
  CHECK(t.exists);
  REQUIRE(t.remaining.has_value());
  CHECK(*t.remaining == 6 * kSec);
}

TEST_CASE("Cache: Clear empties every shard") {
  ManualCache c;
  for (int i = 0; i < 1000; ++i) REQUIRE(c->Set("k" + std::to_string(i), "v").ok());
  c->Clear();
  CHECK(c->Size() == 0);
  CHECK(c->GetStats().bytes == 0);
  CHECK(c.Value("k5") == "<miss>");
  REQUIRE(c->Set("k5", "again").ok());
  CHECK(c.Value("k5") == "again");
}

}  // namespace larder

namespace larder {

TEST_CASE("Cache: SetMany refuses an item heavier than its shard's byte share, naming it") {
  CacheOptions o;
  o.num_shards = 1;
  o.max_bytes = 1000;
  testing::ManualCache c(o);
  std::vector<KeyValue> items = {{"a", "1"}, {"b", std::string(2000, 'x')}};
  Status s = c->SetMany(items);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("items[1]") == 0);
  CHECK(s.message().find("max_bytes") != std::string_view::npos);
  CHECK(c->Size() == 0);
}

}  // namespace larder
