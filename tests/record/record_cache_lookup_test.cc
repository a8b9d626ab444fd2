// RecordCache reads: the three outcomes, read-through, single flight, negative caching, rows that
// vanish, batched misses, and the quick checks.
#include <thread>
#include <vector>

#include "table_fixture.h"

namespace larder {
using testing::CacheOverTable;
using testing::kSec;

TEST_CASE("RecordCache: lookups have three distinct outcomes") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  CHECK(c.ById(1) == "ann@x.io");                         // found (read through)
  CHECK(c.ById(2) == "<not found>");                      // the source has no row 2
  RecordLookup r = c->GetById(FieldValue::Int64(2));
  CHECK(r.ok());
  CHECK(r.outcome() == LookupOutcome::kNotFound);

  CacheOverTable lazy_off({.lazy_reload = false});
  lazy_off.table.Put(lazy_off.table.Row(1, "ann@x.io", 10));
  CHECK(lazy_off.ById(1) == "<not loaded>");              // a miss, nothing loaded
  CHECK(lazy_off.table.find_by_id_calls == 0);
  CHECK(lazy_off.ByEmail("ann@x.io") == "<not loaded>");

  c.table.Fail(Status::Unavailable("db down"));
  r = c->GetById(FieldValue::Int64(3));
  CHECK_FALSE(r.ok());
  CHECK(r.status().IsUnavailable());                      // a failure is a status, not an outcome
}

TEST_CASE("RecordCache: bad arguments are refused in the result, naming the field") {
  CacheOverTable c;
  RecordLookup r = c->GetById(FieldValue::String("1"));  // 1 vs "1": typed, never coerced
  CHECK(r.status().IsInvalidArgument());
  CHECK(r.status().message().find("'id' is int64, got string") != std::string_view::npos);
  r = c->GetByKey("name", FieldValue::String("x"));
  CHECK(r.status().message().find("'name' is not an indexed field") != std::string_view::npos);
  CHECK(c.table.find_by_id_calls == 0);
}

TEST_CASE("RecordCache: a miss reads through, caches, and announces refreshed_item") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  std::vector<std::string> loaded;
  Subscription sub = c->Subscribe(
      [&](const RecordEvent& ev) { loaded.emplace_back(ev.record.Get("email").as_string()); },
      RecordEventBit(RecordEventType::kRefreshedItem));
  CHECK(c.ById(1) == "ann@x.io");
  CHECK(c.ById(1) == "ann@x.io");
  CHECK(c.table.find_by_id_calls == 1);
  CHECK(loaded == std::vector<std::string>{"ann@x.io"});
  CHECK(c.ByEmail("ann@x.io") == "ann@x.io");  // the load filled the secondary index too
  CHECK(c.table.find_where_in_calls == 0);
}

TEST_CASE("RecordCache: 16 threads missing the same id share one source call") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  c.table.CloseGate();
  std::vector<std::string> got(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) threads.emplace_back([&, i] { got[i] = c.ById(1); });
  // Every caller is either inside the source or waiting for another's load (without single
  // flight all 16 would be inside the source).
  while (c->GetStats().shared_loads + c.table.waiting() < 16) std::this_thread::yield();
  c.table.OpenGate();
  for (auto& t : threads) t.join();
  CHECK(c.table.find_by_id_calls == 1);
  for (const auto& g : got) CHECK(g == "ann@x.io");
}

TEST_CASE("RecordCache: GetById(1) and GetByKey(\"id\", 1) share one load") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  c.table.CloseGate();
  std::string a, b;
  std::thread first([&] { a = c.ById(1); });
  while (c.table.waiting() == 0) std::this_thread::yield();
  std::thread second([&] { b = c.Email(c->GetByKey("id", FieldValue::Int64(1))); });
  // The second caller waits on the first's load (were it to start its own, this would hang on
  // the gate, and find_by_id_calls would say 2).
  while (c->GetStats().shared_loads == 0 && c.table.waiting() < 2) std::this_thread::yield();
  c.table.OpenGate();
  first.join();
  second.join();
  CHECK(a == "ann@x.io");
  CHECK(b == "ann@x.io");
  CHECK(c.table.find_by_id_calls == 1);
}

TEST_CASE("RecordCache: negative ttl caches 'not found' for a while; off by default") {
  CacheOverTable off;
  CHECK(off.ById(9) == "<not found>");
  CHECK(off.ById(9) == "<not found>");
  CHECK(off.table.find_by_id_calls == 2);  // the seed's behaviour: every miss asks

  CacheOverTable on({.negative_ttl = 30 * kSec});
  CHECK(on.ById(9) == "<not found>");
  CHECK(on.ById(9) == "<not found>");
  CHECK(on.table.find_by_id_calls == 1);
  CHECK(on->GetStats().negative_hits == 1);
  on.clock->Advance(30 * kSec);
  CHECK(on.ById(9) == "<not found>");
  CHECK(on.table.find_by_id_calls == 2);
  // A record written meanwhile clears the negative entry at once.
  on.table.Put(on.table.Row(9, "new@x.io", 1));
  REQUIRE(on->Upsert(on.table.Row(9, "new@x.io", 1)).ok());
  CHECK(on.ById(9) == "new@x.io");
  CHECK(on.ByEmail("nobody@x.io") == "<not found>");
  CHECK(on.ByEmail("nobody@x.io") == "<not found>");
  CHECK(on.table.find_where_in_calls + on.table.find_by_id_calls == 3);
}

TEST_CASE("RecordCache: a reload that finds the row gone removes the record") {
  CacheOverTable c({.ttl = 10 * kSec, .stale_while_revalidate = false});
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  CHECK(c.ById(1) == "ann@x.io");
  c.table.Erase(1);
  c.clock->Advance(10 * kSec);
  CHECK(c.ById(1) == "<not found>");
  CHECK(c->Size() == 0);
  CHECK_FALSE(c->Has("email", FieldValue::String("ann@x.io")));
}

TEST_CASE("RecordCache: multi-valued keys return every record that carries the value") {
  CacheOverTable c;
  for (int i = 1; i <= 5; ++i) c.table.Put(c.table.Row(i, "u" + std::to_string(i) + "@x", i <= 3 ? 7 : 8));
  RecordLookup r = c->GetByKey("org_id", FieldValue::Int64(7));
  REQUIRE(r.found());
  CHECK(r.count() == 3);
  CHECK(c.table.find_where_in_calls == 1);
  r = c->GetByKey("org_id", FieldValue::Int64(7));  // now from memory
  CHECK(r.count() == 3);
  CHECK(c.table.find_where_in_calls == 1);
}

TEST_CASE("RecordCache: GetManyByKey answers hits from memory and loads all misses at once") {
  CacheOverTable c;
  for (int i = 1; i <= 10; ++i) c.table.Put(c.table.Row(i, "u" + std::to_string(i) + "@x", 1));
  CHECK(c.ById(1) == "u1@x");
  CHECK(c.ById(2) == "u2@x");
  std::vector<FieldValue> emails;
  std::vector<std::string> storage = {"u1@x", "u2@x", "u3@x", "u4@x", "u3@x", "none@x", "u5@x"};
  for (const auto& e : storage) emails.push_back(FieldValue::String(e));
  const int before = c.table.find_where_in_calls;
  std::vector<RecordLookup> got = c->GetManyByKey("email", emails);
  REQUIRE(got.size() == emails.size());
  CHECK(c.table.find_where_in_calls - before == 1);  // one query for every miss
  CHECK(c.table.where_in_values == 4);                // u3 once (deduplicated), u4, none, u5
  CHECK(c.Email(got[0]) == "u1@x");
  CHECK(c.Email(got[2]) == "u3@x");
  CHECK(c.Email(got[4]) == "u3@x");
  CHECK(c.Email(got[5]) == "<not found>");
  CHECK(c.Email(got[6]) == "u5@x");
  const RecordCacheStats st = c->GetStats();
  CHECK(st.hits == 2);          // u1 and u2, cached by the two GetById loads (misses)
  CHECK(st.misses == 2 + 5);
  // Everything loaded is cached now: a second call asks nothing.
  (void)c->GetManyByKey("email", std::span<const FieldValue>(emails.data(), 5));
  CHECK(c.table.find_where_in_calls - before == 1);
}

TEST_CASE("RecordCache: GetManyByKey splits long lists into the source's batch size") {
  CacheOverTable c;
  c.table.max_batch = 3;
  c.source = c.table.Source();
  auto reopened = RecordCache::Open(c.source, {.key_fields = {{"email", true}},
                                               .clock = c.clock,
                                               .maintenance_interval = Duration::zero(),
                                               .executor = c.executor});
  REQUIRE(reopened.ok());
  std::vector<Value> ids;
  for (int i = 1; i <= 8; ++i) {
    c.table.Put(c.table.Row(i, "u" + std::to_string(i) + "@x", 1));
    ids.emplace_back(int64_t{i});
  }
  std::vector<FieldValue> views(ids.begin(), ids.end());
  std::vector<RecordLookup> got = (*reopened)->GetManyByKey("id", views);
  CHECK(c.table.find_where_in_calls == 3);  // 8 values in batches of 3
  CHECK(c.table.where_in_values == 8);
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].found());
}

TEST_CASE("RecordCache: GetManyByKey waits for loads already in flight instead of repeating them") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  c.table.Put(c.table.Row(2, "bob@x.io", 10));
  c.table.CloseGate();
  std::thread single([&] { CHECK(c.ById(1) == "ann@x.io"); });
  while (c.table.waiting() == 0) std::this_thread::yield();
  std::vector<RecordLookup> got;
  std::thread many([&] {
    std::vector<FieldValue> ids = {FieldValue::Int64(1), FieldValue::Int64(2)};
    got = c->GetManyByKey("id", ids);
  });
  while (c.table.waiting() < 2) std::this_thread::yield();  // the batch for id 2 alone
  c.table.OpenGate();
  single.join();
  many.join();
  CHECK(c.table.find_by_id_calls == 1);
  CHECK(c.table.find_where_in_calls == 1);
  CHECK(c.table.where_in_values == 1);  // id 1 was joined, not asked again
  CHECK(c.Email(got[0]) == "ann@x.io");
  CHECK(c.Email(got[1]) == "bob@x.io");
}

TEST_CASE("RecordCache: GetAll, Has, HasById, IsExpired and Size follow one expiry rule") {
  CacheOverTable c({.ttl = 10 * kSec, .stale_while_revalidate = true});
  c.table.Put(c.table.Row(1, "ann@x.io", 10));
  c.table.Put(c.table.Row(2, "bob@x.io", 10));
  REQUIRE(c->Sync().ok());
  CHECK(c->GetAll().size() == 2);
  CHECK(c->HasById(FieldValue::Int64(1)));
  CHECK(c->Has("email", FieldValue::String("bob@x.io")));
  CHECK_FALSE(c->IsExpired(FieldValue::Int64(1)));
  c.clock->Advance(10 * kSec - Duration(1));
  CHECK_FALSE(c->IsExpired(FieldValue::Int64(1)));
  c.clock->Advance(Duration(1));  // now >= expires_at
  CHECK(c->IsExpired(FieldValue::Int64(1)));
  CHECK_FALSE(c->HasById(FieldValue::Int64(1)));
  CHECK(c->GetAll().empty());    // live records only
  CHECK(c->Size() == 2);         // still kept for stale serving
  CHECK_FALSE(c->IsExpired(FieldValue::Int64(99)));
}

}  // namespace larder
