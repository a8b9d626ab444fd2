// RecordCache JSON: the seed's two shapes byte for byte, all-or-nothing imports, expiry kept.
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "table_fixture.h"

namespace larder {
namespace {

std::string Fixture(const std::string& name) {
  std::ifstream in(std::string(LARDER_TEST_FIXTURES) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Record Ann(const testing::UsersTable& t) {
  return *RecordBuilder(t.schema())
              .Set("id", 1)
              .Set("email", "ann@x.io")
              .Set("name", "Ann \"A\"")
              .Set("org_id", 10)
              .Set("updatedAt", FieldValue::Time({1'700'000'000'123'000}))
              .Build();
}
Record Bob(const testing::UsersTable& t) {
  return *RecordBuilder(t.schema())
              .Set("id", 2)
              .Set("email", "bob@x.io")
              .Set("org_id", int64_t{9007199254740993})
              .Set("updatedAt", FieldValue::Time({1'700'000'000'123'456}))
              .Build();
}

}  // namespace

TEST_CASE("JSON: ToJson writes the seed's shapes exactly") {
  testing::CacheOverTable c({.ttl = 60 * testing::kSec, .stale_while_revalidate = false});
  // ManualClock: monotonic 0 is wall 1700000000000 ms, so Ann expires at 1700000060000.
  REQUIRE(c->Upsert(Ann(c.table)).ok());
  REQUIRE(c->LoadFromJson(R"([{"data":)" + Bob(c.table).ToJson() + R"(,"expiresAt":null}])", true)
              .ok());
  CHECK(c->ToJson() == Fixture("users_plain.json"));
  CHECK(c->ToJson(/*include_meta=*/true) == Fixture("users_meta.json"));
  // Without meta only live records; with meta every entry, expired ones included.
  c.clock->Advance(60 * testing::kSec);
  CHECK(c->ToJson().find("ann@x.io") == std::string::npos);
  CHECK(c->ToJson(true).find("ann@x.io") != std::string::npos);
}

TEST_CASE("JSON: LoadFromJson accepts both shapes; with meta expiry times are kept") {
  testing::CacheOverTable c({.ttl = 10 * testing::kSec, .lazy_reload = false, .stale_while_revalidate = false});
  REQUIRE(c->LoadFromJson(Fixture("users_meta.json"), true).ok());
  CHECK(c->Size() == 2);
  CHECK(c.ById(2) == "bob@x.io");
  // Exact round trip of 64-bit integers and microsecond timestamps.
  RecordLookup bob = c->GetById(FieldValue::Int64(2));
  CHECK(bob.record().Get("org_id").as_int64() == 9007199254740993);
  CHECK(bob.record().Get("updatedAt").as_timestamp().micros == 1'700'000'000'123'456);
  CHECK(c->ToJson(true) == Fixture("users_meta.json"));
  c.clock->Advance(60 * testing::kSec);  // Ann's expiresAt has passed; Bob's null never does
  CHECK(c.ById(1) == "<not loaded>");
  CHECK(c.ById(2) == "bob@x.io");

  testing::CacheOverTable plain({.ttl = 10 * testing::kSec, .lazy_reload = false, .stale_while_revalidate = false});
  REQUIRE(plain->LoadFromJson(Fixture("users_plain.json")).ok());
  CHECK(plain.ByEmail("ann@x.io") == "ann@x.io");  // indexes rebuilt
  plain.clock->Advance(10 * testing::kSec);  // without meta every record got a fresh ttl
  CHECK(plain.ById(2) == "<not loaded>");
}

TEST_CASE("JSON: records already expired in the file are skipped") {
  testing::CacheOverTable c({.lazy_reload = false});
  c.clock->Advance(61 * testing::kSec);  // past Ann's 1700000060000
  REQUIRE(c->LoadFromJson(Fixture("users_meta.json"), true).ok());
  CHECK(c->Size() == 1);
  CHECK(c.ById(1) == "<not loaded>");
}

TEST_CASE("JSON: a bad element leaves the cache unchanged and is named by index") {
  testing::CacheOverTable c({.lazy_reload = false});
  REQUIRE(c->Upsert(Ann(c.table)).ok());
  const std::string before = c->ToJson(true);
  Status s = c->LoadFromJson(
      R"([{"id":5,"email":"e@x","updatedAt":0},{"id":6,"email":null,"updatedAt":0}])");
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("element 1: field 'email'") == 0);
  s = c->LoadFromJson(R"([{"data":{"id":5,"email":"e@x","updatedAt":0}},"oops"])", true);
  CHECK(s.message().find("element 1") == 0);
  s = c->LoadFromJson("not json");
  CHECK(s.IsInvalidArgument());
  CHECK(c->ToJson(true) == before);
  CHECK(c.ById(5) == "<not loaded>");
}

TEST_CASE("JSON: a record too large for the cache's bounds fails the import before any write") {
  testing::CacheOverTable c({.lazy_reload = false, .max_bytes = 4096});
  const std::string big(8000, 'x');
  const std::string text = R"([{"id":5,"email":"e@x","updatedAt":0},{"id":6,"email":")" + big +
                           R"(","updatedAt":0}])";
  Status s = c->LoadFromJson(text);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("element 1: ") == 0);
  CHECK(c.ById(5) == "<not loaded>");
}

TEST_CASE("JSON: a primary key given many times ends as its last version") {
  testing::CacheOverTable c({.lazy_reload = false});
  // 3000 elements over 300 ids, each id ten times, far enough apart to land in different
  // batches: applied out of order, some ids would end on an older version.
  std::string text = "[";
  for (int i = 0; i < 3000; ++i) {
    if (i) text += ",";
    text += fmt::format(R"({{"id":{},"email":"u{}@x","org_id":{},"updatedAt":0}})", i % 300 + 1, i,
                        i);
  }
  text += "]";
  REQUIRE(c->LoadFromJson(text).ok());
  CHECK(c->Size() == 300);
  int wrong = 0;
  for (int id = 1; id <= 300; ++id) {
    const int last = 2700 + id - 1;  // the last i with i % 300 + 1 == id
    wrong += c.ById(id) != fmt::format("u{}@x", last);
    wrong += c.ByEmail(fmt::format("u{}@x", last - 300)) != "<not loaded>";  // older slot gone
    wrong += c->GetByKey("org_id", FieldValue::Int64(last)).count() != 1;
  }
  CHECK(wrong == 0);
}

TEST_CASE("JSON: a later version in a later batch wins even when batches run side by side") {
  testing::CacheOverTable c({.lazy_reload = false});
  // Element 206..255 (the end of the first batch of 256) hold the first versions of ids 1..50;
  // elements 256..305 (the start of the next) their second versions; unique filler around.
  std::vector<std::string> items;
  auto add = [&](int id, const std::string& email) {
    items.push_back(fmt::format(R"({{"id":{},"email":"{}","updatedAt":0}})", id, email));
  };
  for (int i = 0; i < 206; ++i) add(1000 + i, fmt::format("f{}@x", i));
  for (int id = 1; id <= 50; ++id) add(id, fmt::format("old{}@x", id));
  for (int id = 1; id <= 50; ++id) add(id, fmt::format("new{}@x", id));
  for (int i = 0; i < 2000; ++i) add(5000 + i, fmt::format("g{}@x", i));
  // Without the wait for earlier batches, the second batch can be applied while the first is
  // still being applied, and the old versions would land last.
  REQUIRE(c->LoadFromJson("[" + fmt::format("{}", fmt::join(items, ",")) + "]").ok());
  int wrong = 0;
  for (int id = 1; id <= 50; ++id) wrong += c.ById(id) != fmt::format("new{}@x", id);
  CHECK(wrong == 0);
  CHECK(c->Size() == 206 + 50 + 2000);
}

TEST_CASE("Events: evictions by size carry their cause; listeners may read back") {
  testing::CacheOverTable c(
      {.lazy_reload = false, .max_size = 2, .policy = EvictionPolicyKind::kLru});
  std::vector<std::string> evicted;
  Subscription sub = c->Subscribe(
      [&](const RecordEvent& ev) {
        evicted.push_back(std::string(ev.record.Get("email").as_string()) + ":" +
                          std::string(RemovalCauseName(ev.cause)));
        (void)c->Size();  // calling back into the cache from a listener is allowed
      },
      RecordEventBit(RecordEventType::kEvicted));
  for (int i = 1; i <= 4; ++i) {
    REQUIRE(c->Upsert(c.table.Row(i, "u" + std::to_string(i) + "@x", 1)).ok());
  }
  CHECK(c->Size() == 2);
  CHECK(evicted == std::vector<std::string>{"u1@x:size", "u2@x:size"});
  CHECK(c->GetStats().evictions == 2);
  CHECK_FALSE(c->Has("email", FieldValue::String("u1@x")));  // its slot went with it
  CHECK(c->GetStats().by_key[0].second == 2);
}

TEST_CASE("Events: a new version reports the old one as replaced") {
  testing::CacheOverTable c({.lazy_reload = false});
  std::vector<std::string> seen;
  Subscription sub = c->Subscribe(
      [&](const RecordEvent& ev) {
        seen.push_back(std::string(ev.record.Get("email").as_string()) + ":" +
                       std::string(RemovalCauseName(ev.cause)));
      },
      RecordEventBit(RecordEventType::kEvicted));
  REQUIRE(c->Upsert(c.table.Row(1, "v1@x", 1)).ok());
  REQUIRE(c->Upsert(c.table.Row(1, "v2@x", 1)).ok());
  CHECK(seen == std::vector<std::string>{"v1@x:replaced"});
}

TEST_CASE("Events: expiry removes records and reports them") {
  testing::CacheOverTable c({.ttl = 10 * testing::kSec, .lazy_reload = false, .stale_while_revalidate = false});
  std::vector<std::string> causes;
  Subscription sub = c->Subscribe(
      [&](const RecordEvent& ev) { causes.emplace_back(RemovalCauseName(ev.cause)); },
      RecordEventBit(RecordEventType::kEvicted));
  REQUIRE(c->Upsert(c.table.Row(1, "a@x", 1)).ok());
  c.clock->Advance(11 * testing::kSec);
  c->RunPendingMaintenance();
  CHECK(causes == std::vector<std::string>{"expired"});
  CHECK(c->Size() == 0);
  CHECK(c->GetStats().by_key[0].second == 0);
  CHECK(c->GetStats().expirations == 1);
}

}  // namespace larder
