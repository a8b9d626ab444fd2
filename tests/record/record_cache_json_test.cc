// RecordCache JSON: the seed's two shapes byte for byte, all-or-nothing imports, expiry kept.
#include <fstream>
#include <sstream>

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

TEST_CASE("Events: evictions by size carry their cause; listeners may read back") {
  testing::CacheOverTable c({.lazy_reload = false, .max_size = 2});
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
