// RecordCache indexes: exact after changes, removals touch only their own slots, invalidation,
// clears, and exactness under concurrent writers.
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "table_fixture.h"

namespace larder {
using testing::CacheOverTable;

TEST_CASE("Indexes: changing an indexed value removes the old slot") {
  CacheOverTable c({.lazy_reload = false});  // observe the cache alone
  REQUIRE(c->Upsert(c.table.Row(1, "old@x.io", 10)).ok());
  CHECK(c.ByEmail("old@x.io") == "old@x.io");
  REQUIRE(c->Upsert(c.table.Row(1, "new@x.io", 20)).ok());
  CHECK(c.ByEmail("new@x.io") == "new@x.io");
  CHECK(c.ByEmail("old@x.io") == "<not loaded>");
  CHECK_FALSE(c->Has("email", FieldValue::String("old@x.io")));
  CHECK_FALSE(c->Has("org_id", FieldValue::Int64(10)));
  CHECK(c->GetByKey("org_id", FieldValue::Int64(20)).count() == 1);
  const RecordCacheStats st = c->GetStats();
  REQUIRE(st.by_key.size() == 2);
  CHECK(st.by_key[0] == std::pair<std::string, uint64_t>{"email", 1});
  CHECK(st.by_key[1] == std::pair<std::string, uint64_t>{"org_id", 1});
}

TEST_CASE("Stats: ExportPrometheus labels samples with the cache's name and each index") {
  CacheOverTable c({.lazy_reload = false});
  REQUIRE(c->Upsert(c.table.Row(1, "a@x.io", 10)).ok());
  REQUIRE(c->Upsert(c.table.Row(2, "b@x.io", 10)).ok());
  CHECK(c.ByEmail("a@x.io") == "a@x.io");
  const std::string text = c->ExportPrometheus();
  const std::string name(c->name());
  CHECK(text.find("# TYPE larder_record_cache_hits_total counter\n") != std::string::npos);
  CHECK(text.find("larder_record_cache_records{cache=\"" + name + "\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("larder_record_cache_hits_total{cache=\"" + name + "\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("larder_record_cache_index_values{cache=\"" + name +
                  "\",index=\"org_id\"} 1\n") != std::string::npos);
  CHECK(text.find("larder_record_cache_index_values{cache=\"" + name +
                  "\",index=\"email\"} 2\n") != std::string::npos);
}

TEST_CASE("Indexes: removing a record removes exactly its own slots") {
  CacheOverTable c({.lazy_reload = false});
  REQUIRE(c->Upsert(c.table.Row(1, "a@x.io", 7)).ok());
  REQUIRE(c->Upsert(c.table.Row(2, "b@x.io", 7)).ok());
  REQUIRE(c->Upsert(c.table.Row(3, "c@x.io", 7)).ok());
  REQUIRE(c->Invalidate("id", FieldValue::Int64(2)).ok());
  RecordLookup org = c->GetByKey("org_id", FieldValue::Int64(7));
  REQUIRE(org.count() == 2);
  CHECK(org.record(0).Get("id").as_int64() + org.record(1).Get("id").as_int64() == 4);
  CHECK(c.ByEmail("a@x.io") == "a@x.io");
  CHECK(c.ByEmail("b@x.io") == "<not loaded>");
  // A unique value taken over by another record: removing the first keeps the second's slot.
  REQUIRE(c->Upsert(c.table.Row(4, "a@x.io", 8)).ok());  // two records briefly share a@x.io
  REQUIRE(c->Upsert(c.table.Row(1, "a2@x.io", 7)).ok()); // record 1 moves away from it
  CHECK(c.Email(c->GetByKey("email", FieldValue::String("a@x.io"))) == "a@x.io");
  CHECK(c->GetByKey("email", FieldValue::String("a@x.io")).record().Get("id").as_int64() == 4);
}

TEST_CASE("Indexes: Invalidate removes the whole record from every index") {
  CacheOverTable c({.lazy_reload = false});
  REQUIRE(c->Upsert(c.table.Row(1, "ann@x.io", 10)).ok());
  std::vector<std::string> seen;
  Subscription sub = c->Subscribe([&](const RecordEvent& ev) {
    if (ev.type == RecordEventType::kItemInvalidated) {
      seen.push_back(std::string(ev.field) + "=" + ev.value.ToString());
    } else {
      seen.push_back(std::string(RecordEventTypeName(ev.type)) + ":" +
                     std::string(RemovalCauseName(ev.cause)));
    }
  });
  REQUIRE(c->Invalidate("email", FieldValue::String("ann@x.io")).ok());
  CHECK(c.ById(1) == "<not loaded>");
  CHECK_FALSE(c->Has("org_id", FieldValue::Int64(10)));
  CHECK(c->Size() == 0);
  CHECK(seen == std::vector<std::string>{"evicted:explicit", "email=\"ann@x.io\""});
  CHECK(c->Invalidate("email", FieldValue::String("nobody")).ok());  // nothing matched: fine
  CHECK(c->Invalidate("name", FieldValue::String("x")).IsInvalidArgument());
}

TEST_CASE("Indexes: Clear(field) drops one index, Clear() everything") {
  CacheOverTable c({.lazy_reload = false});
  REQUIRE(c->Upsert(c.table.Row(1, "ann@x.io", 10)).ok());
  std::vector<std::string> fields;
  Subscription sub = c->Subscribe([&](const RecordEvent& ev) { fields.emplace_back(ev.field); },
                                  RecordEventBit(RecordEventType::kClearedField));
  REQUIRE(c->Clear("email").ok());
  CHECK(fields == std::vector<std::string>{"email"});
  CHECK(c.ByEmail("ann@x.io") == "<not loaded>");
  CHECK(c.ById(1) == "ann@x.io");  // the record itself stays
  CHECK(c->Has("org_id", FieldValue::Int64(10)));
  REQUIRE(c->Upsert(c.table.Row(1, "ann@x.io", 10)).ok());  // a write puts its slot back
  CHECK(c.ByEmail("ann@x.io") == "ann@x.io");
  CHECK(c->Clear("nope").IsInvalidArgument());
  int cleared = 0;
  Subscription all = c->Subscribe([&](const RecordEvent&) { ++cleared; },
                                  RecordEventBit(RecordEventType::kCleared));
  c->Clear();
  CHECK(cleared == 1);
  CHECK(c->Size() == 0);
  CHECK(c.ByEmail("ann@x.io") == "<not loaded>");
}

TEST_CASE("Indexes: stay exact while writers change indexed values concurrently") {
  CacheOverTable c({.lazy_reload = false});
  constexpr int kRecords = 50;
  constexpr int kWriters = 4;
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::mt19937 rng(w);
      for (int i = 0; i < 3000; ++i) {
        const int id = static_cast<int>(rng() % kRecords);
        const int org = static_cast<int>(rng() % 5);
        const std::string email = "r" + std::to_string(id) + "." + std::to_string(rng() % 3) + "@x";
        if (rng() % 10 == 0) {
          (void)c->Invalidate("id", FieldValue::Int64(id));
        } else {
          REQUIRE(c->Upsert(c.table.Row(id, email, org)).ok());
        }
      }
    });
  }
  for (auto& t : writers) t.join();
  // Every cached record is found through each of its values, and every index answer carries
  // the value it was asked for: the indexes and the records agree.
  size_t through_orgs = 0;
  for (int org = 0; org < 5; ++org) {
    RecordLookup r = c->GetByKey("org_id", FieldValue::Int64(org));
    for (size_t i = 0; i < r.count(); ++i) CHECK(r.record(i).Get("org_id").as_int64() == org);
    through_orgs += r.count();
  }
  const std::vector<Record> all = c->GetAll();
  CHECK(through_orgs == all.size());
  for (const Record& rec : all) {
    RecordLookup by_email = c->GetByKey("email", rec.Get("email"));
    REQUIRE(by_email.found());
    CHECK(by_email.record().Get("id") == rec.Get("id"));
  }
  const RecordCacheStats st = c->GetStats();
  CHECK(st.by_key[0].second == all.size());  // no stale email slots left behind
}

TEST_CASE("Indexes: a value shared by thousands of records stays exact as it grows and shrinks") {
  CacheOverTable c({.lazy_reload = false});
  std::map<int64_t, int64_t> org_of;  // the model: cached id -> org
  std::mt19937 rng(7);
  const auto check = [&] {
    std::map<int64_t, std::set<int64_t>> want;
    for (auto [id, org] : org_of) want[org].insert(id);
    const size_t values = want.size();  // orgs with at least one record
    for (int64_t org = 1; org <= 3; ++org) {
      std::set<int64_t> got;
      RecordLookup r = c->GetByKey("org_id", FieldValue::Int64(org));
      for (size_t i = 0; i < r.count(); ++i) got.insert(r.record(i).Get("id").as_int64());
      CHECK(got == want[org]);
    }
    CHECK(c->GetStats().by_key[1].second == values);
  };
  // Grow one value far past a single list: 5000 records in org 1.
  for (int64_t id = 0; id < 5000; ++id) {
    REQUIRE(c->Upsert(c.table.Row(id, "e" + std::to_string(id), 1)).ok());
    org_of[id] = 1;
  }
  check();
  // Move, remove and add at random, mostly within org 1.
  for (int i = 0; i < 20000; ++i) {
    const int64_t id = rng() % 6000;
    if (rng() % 10 == 0) {
      REQUIRE(c->Invalidate("id", FieldValue::Int64(id)).ok());
      org_of.erase(id);
    } else {
      const int64_t org = rng() % 10 < 7 ? 1 : 2 + rng() % 2;
      REQUIRE(c->Upsert(c.table.Row(id, "e" + std::to_string(id), org)).ok());
      org_of[id] = org;
    }
  }
  check();
  // Shrink org 1 back to a handful (and org 3 to nothing).
  for (auto it = org_of.begin(); it != org_of.end();) {
    if ((it->second == 1 && it->first % 500 != 0) || it->second == 3) {
      REQUIRE(c->Invalidate("id", FieldValue::Int64(it->first)).ok());
      it = org_of.erase(it);
    } else {
      ++it;
    }
  }
  check();
  REQUIRE(c->Clear("org_id").ok());
  CHECK(c->GetByKey("org_id", FieldValue::Int64(2)).count() == 0);
  CHECK(c->GetStats().by_key[1].second == 0);
}

TEST_CASE("Indexes: readers of a large value never miss a record while it splits and merges") {
  CacheOverTable c({.lazy_reload = false});
  constexpr int64_t kStable = 20;  // always in org 7
  for (int64_t id = 0; id < kStable; ++id) {
    REQUIRE(c->Upsert(c.table.Row(id, "s" + std::to_string(id), 7)).ok());
  }
  std::atomic<bool> done{false};
  std::thread writer([&] {
    // Grow the value well past one list and shrink it below the merge point, repeatedly.
    for (int round = 0; round < 15; ++round) {
      for (int64_t id = 1000; id < 1400; ++id) {
        REQUIRE(c->Upsert(c.table.Row(id, "m" + std::to_string(id), 7)).ok());
      }
      for (int64_t id = 1000; id < 1400; ++id) {
        if (id % 2 == 0) {
          REQUIRE(c->Invalidate("id", FieldValue::Int64(id)).ok());
        } else {
          REQUIRE(c->Upsert(c.table.Row(id, "m" + std::to_string(id), 8)).ok());
        }
      }
    }
    done = true;
  });
  int reads = 0;
  int missing = 0;
  while (!done || reads == 0) {
    RecordLookup r = c->GetByKey("org_id", FieldValue::Int64(7));
    std::set<int64_t> ids;
    for (size_t i = 0; i < r.count(); ++i) {
      CHECK(r.record(i).Get("org_id").as_int64() == 7);
      ids.insert(r.record(i).Get("id").as_int64());
    }
    for (int64_t id = 0; id < kStable; ++id) missing += ids.count(id) == 0;
    ++reads;
  }
  writer.join();
  CHECK(missing == 0);
  CHECK(c->GetByKey("org_id", FieldValue::Int64(7)).count() == kStable);
}

}  // namespace larder
