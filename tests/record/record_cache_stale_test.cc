// RecordCache expiry: stale-while-revalidate on and off, one reload per key, fail-safe.
#include "table_fixture.h"

namespace larder {
using testing::CacheOverTable;
using testing::kSec;

TEST_CASE("RecordCache: with stale-while-revalidate an expired record is served at once and "
          "reloaded once in the background") {
  CacheOverTable c({.ttl = 10 * kSec, .stale_while_revalidate = true});
  c.table.Put(c.table.Row(1, "old@x.io", 10));
  CHECK(c.ById(1) == "old@x.io");
  c.table.Put(c.table.Row(1, "new@x.io", 10));
  c.clock->Advance(10 * kSec);
  for (int i = 0; i < 3; ++i) {
    RecordLookup r = c->GetById(FieldValue::Int64(1));
    REQUIRE(r.found());
    CHECK(r.record().stale());
    CHECK(r.record().Get("email").as_string() == "old@x.io");
  }
  CHECK(c.ByEmail("old@x.io") == "old@x.io");  // by key too, still stale
  CHECK(c.table.find_by_id_calls == 1);
  CHECK(c.executor->pending() >= 1);
  c.executor->RunPending();
  CHECK(c.table.find_by_id_calls == 2);  // one reload for all those reads
  RecordLookup fresh = c->GetById(FieldValue::Int64(1));
  CHECK_FALSE(fresh.record().stale());
  CHECK(c.Email(fresh) == "new@x.io");
  CHECK(c.ByEmail("old@x.io") == "<not found>");  // the old slot went with the old version
  CHECK(c->GetStats().stale_hits == 4);
}

TEST_CASE("RecordCache: without stale-while-revalidate an expired read waits for the reload") {
  CacheOverTable c({.ttl = 10 * kSec, .stale_while_revalidate = false});
  c.table.Put(c.table.Row(1, "old@x.io", 10));
  CHECK(c.ById(1) == "old@x.io");
  c.table.Put(c.table.Row(1, "new@x.io", 10));
  c.clock->Advance(10 * kSec);
  RecordLookup r = c->GetById(FieldValue::Int64(1));
  CHECK(c.Email(r) == "new@x.io");
  CHECK_FALSE(r.record().stale());
  CHECK(c.table.find_by_id_calls == 2);
  CHECK(c.executor->pending() == 0);
}

TEST_CASE("RecordCache: fail-safe serves stale while reloads fail, up to stale_ttl") {
  CacheOverTable c({.ttl = 10 * kSec, .stale_while_revalidate = true, .stale_ttl = 60 * kSec, .fail_safe_throttle = 5 * kSec});
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  CHECK(c.ById(1) == "ann@x.io");
  c.table.Fail(Status::Unavailable("db down"));
  int errors = 0;
  Subscription sub = c->Subscribe([&](const RecordEvent&) { ++errors; },
                                  RecordEventBit(RecordEventType::kError));
  c.clock->Advance(15 * kSec);
  CHECK(c.ById(1) == "ann@x.io");
  c.executor->RunPending();
  CHECK(errors == 1);
  CHECK(c->GetStats().load_failures == 1);
  // Inside the throttle: still served, no new attempt.
  c.clock->Advance(2 * kSec);
  CHECK(c.ById(1) == "ann@x.io");
  CHECK(c.executor->pending() == 0);
  // After it: one more attempt.
  c.clock->Advance(4 * kSec);
  CHECK(c.ById(1) == "ann@x.io");
  CHECK(c.executor->pending() == 1);
  c.executor->RunPending();
  // Past stale_ttl the record is gone and the failure surfaces.
  c.clock->Advance(40 * kSec);
  c->RunPendingMaintenance();
  RecordLookup r = c->GetById(FieldValue::Int64(1));
  CHECK(r.status().IsUnavailable());
  CHECK(c->Size() == 0);
  // The source comes back.
  c.table.Fail(Status::OK());
  CHECK(c.ById(1) == "ann@x.io");
}

TEST_CASE("RecordCache: records without a ttl never go stale") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  CHECK(c.ById(1) == "ann@x.io");
  c.clock->Advance(std::chrono::hours(24 * 365));
  c->RunPendingMaintenance();
  CHECK(c.ById(1) == "ann@x.io");
  CHECK(c.table.find_by_id_calls == 1);
}

TEST_CASE("RecordCache: options are checked") {
  testing::UsersTable table;
  auto r = RecordCache::Open(table.Source(), {.ttl = 10 * kSec, .stale_ttl = 5 * kSec});
  CHECK(r.status().message().find("stale_ttl") == 0);
  r = RecordCache::Open(table.Source(), {.key_fields = {{"nope", true}}});
  CHECK(r.status().message().find("'nope' is not a field of users") != std::string_view::npos);
  r = RecordCache::Open(nullptr);
  CHECK(r.status().IsInvalidArgument());
}

}  // namespace larder
