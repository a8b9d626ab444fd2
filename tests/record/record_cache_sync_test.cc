// RecordCache syncs: full and incremental, joining, no empty window, watermark from data,
// deletions, automatic refresh, counters kept.
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "table_fixture.h"

namespace larder {
using testing::CacheOverTable;
using testing::kSec;

TEST_CASE("Sync: a full sync loads every row and drops rows that vanished") {
  CacheOverTable c({.lazy_reload = false});
  for (int i = 1; i <= 5; ++i) c.table.Put(c.table.Row(i, "u" + std::to_string(i) + "@x", 1));
  std::vector<std::string> synced;
  Subscription sub = c->Subscribe(
      [&](const RecordEvent& ev) {
        synced.push_back(std::string(ev.full_sync ? "full:" : "inc:") + std::to_string(ev.rows));
      },
      RecordEventBit(RecordEventType::kSynced));
  REQUIRE(c->Sync().ok());
  CHECK(c->Size() == 5);
  c.table.Erase(3);
  REQUIRE(c->Sync().ok());
  CHECK(c->Size() == 4);
  CHECK(c.ById(3) == "<not loaded>");
  CHECK(c.ByEmail("u3@x") == "<not loaded>");  // its index slot went too
  CHECK(synced == std::vector<std::string>{"full:5", "full:4"});
  CHECK(c->GetStats().last_sync_at_ms.has_value());
}

TEST_CASE("Sync: a second call while a sync runs waits for it and shares its result") {
  testing::UsersTable table;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> in_scan{false};
  std::atomic<int> scans{0};
  FunctionSourceOptions o;
  o.schema = table.schema();
  o.find_all = [&](const RowSink& sink) {
    ++scans;
    in_scan = true;
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return sink(table.Row(1, "ann@x.io", 1));
  };
  auto source = *FunctionSource::Create(o);
  auto cache = *RecordCache::Open(source, {.maintenance_interval = Duration::zero()});
  std::atomic<int> done{0};
  std::thread first([&] {
    CHECK(cache->Sync().ok());
    ++done;
  });
  while (!in_scan) std::this_thread::yield();
  std::thread second([&] {
    CHECK(cache->Sync().ok());  // must not return before the data is there
    CHECK(cache->Size() == 1);
    ++done;
  });
  while (cache->GetStats().sync_joins == 0) std::this_thread::yield();  // second is waiting
  CHECK(done == 0);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  first.join();
  second.join();
  CHECK(scans == 1);  // the second call joined, it did not sync again
  CHECK(cache->GetStats().syncs == 1);
}

TEST_CASE("Sync: writes made while a full sync reads are not undone by what it read") {
  // The table as the sync's snapshot sees it: rows 1..600 (enough for several batches).
  testing::UsersTable snapshot;
  for (int i = 1; i <= 600; ++i) snapshot.Put(snapshot.Row(i, "u" + std::to_string(i) + "@x", 1));
  std::unique_ptr<RecordCache> cache;
  bool first = true;
  FunctionSourceOptions o;
  o.schema = snapshot.schema();
  o.find_all = [&](const RowSink& sink) {
    for (int i = 1; i <= 600; ++i) {
      if (i == 300 && first) {
        first = false;
        // Meanwhile (a change feed, a load): 500 changed, 550 was deleted, 700 was created.
        CHECK(cache->Upsert(snapshot.Row(500, "new500@x", 2)).ok());
        CHECK(cache->Invalidate("id", FieldValue::Int64(550)).ok());
        CHECK(cache->Upsert(snapshot.Row(700, "u700@x", 2)).ok());
      }
      Status s = sink(snapshot.Row(i, "u" + std::to_string(i) + "@x", 1));
      if (!s.ok()) return s;
    }
    return Status::OK();
  };
  cache = *RecordCache::Open(*FunctionSource::Create(o),
                             {.key_fields = {{"email", true}},
                              .lazy_reload = false,
                              .maintenance_interval = Duration::zero()});
  REQUIRE(cache->Sync().ok());
  auto email = [&](int64_t id) {
    RecordLookup r = cache->GetById(FieldValue::Int64(id));
    return r.found() ? std::string(r.record().Get("email").as_string()) : "<none>";
  };
  CHECK(email(500) == "new500@x");  // not the older copy the sync read afterwards
  CHECK(email(550) == "<none>");    // stays deleted
  CHECK(email(700) == "u700@x");    // not swept away as "vanished"
  CHECK(email(499) == "u499@x");
  CHECK(cache->Size() == 600);      // 1..600 without 550, with 700
  CHECK_FALSE(cache->GetByKey("email", FieldValue::String("u500@x")).found());
  // The next sync has no such writes to respect: it takes the table as it is.
  REQUIRE(cache->Sync().ok());
  CHECK(email(500) == "u500@x");
  CHECK(email(700) == "<none>");
}

TEST_CASE("Sync: a full sync never shows an empty or half-loaded cache to readers") {
  CacheOverTable c({.lazy_reload = false});
  for (int i = 1; i <= 2000; ++i) c.table.Put(c.table.Row(i, "u" + std::to_string(i) + "@x", 1));
  REQUIRE(c->Sync().ok());
  std::atomic<bool> stop{false};
  std::atomic<int> missing{0};
  std::thread reader([&] {
    while (!stop) {
      // Records from both ends of the table stay readable throughout every resync.
      if (c.ById(1) != "u1@x" || c.ById(2000) != "u2000@x" || c->Size() < 2000) ++missing;
    }
  });
  for (int round = 0; round < 20; ++round) REQUIRE(c->Sync().ok());
  stop = true;
  reader.join();
  CHECK(missing == 0);
}

TEST_CASE("Sync: the incremental watermark comes from the data, not the clock") {
  CacheOverTable c;
  // Rows updated "in 2020" while the cache's clock says 2023: a clock-based watermark would
  // skip them.
  const int64_t t2020 = 1'577'836'800'000;
  c.table.Put(c.table.Row(1, "a@x", 1, t2020));
  c.table.Put(c.table.Row(2, "b@x", 1, t2020 + 5'000));
  REQUIRE(c->Sync().ok());
  c.table.Put(c.table.Row(3, "c@x", 1, t2020 + 9'000));
  REQUIRE(c->Sync(/*incremental=*/true).ok());
  CHECK(c.table.find_updated_since_calls == 1);
  CHECK(c.table.last_watermark == (t2020 + 5'000) * 1000);  // the largest value seen
  CHECK(c->Size() == 3);
  REQUIRE(c->Refresh().ok());
  CHECK(c.table.last_watermark == (t2020 + 9'000) * 1000);
  CHECK(c->GetStats().full_syncs == 1);
}

TEST_CASE("Sync: incremental falls back to full when the table has no updated-at column") {
  CacheOverTable c({}, /*with_updated_since=*/false);
  c.table.Put(c.table.Row(1, "a@x", 1));
  REQUIRE(c->Sync().ok());
  REQUIRE(c->Sync(true).ok());
  CHECK(c.table.find_all_calls == 2);
  CHECK(c->GetStats().full_syncs == 2);
}

TEST_CASE("Sync: deletions that incremental syncs miss are caught by the periodic full sync") {
  CacheOverTable c({.refresh_interval = 60 * kSec, .min_auto_sync_interval = 10 * kSec, .full_sync_every = 3});
  c.table.Put(c.table.Row(1, "a@x", 1));
  c.table.Put(c.table.Row(2, "b@x", 1));
  REQUIRE(c->AutoLoad().ok());
  c.table.Erase(2);
  int full = 0, incremental = 0;
  Subscription sub = c->Subscribe([&](const RecordEvent& ev) { ++(ev.full_sync ? full : incremental); },
                                  RecordEventBit(RecordEventType::kSynced));
  for (int i = 0; i < 3; ++i) {
    c.clock->Advance(60 * kSec);
    c->RunPendingMaintenance();
    c.executor->RunPending();
    CHECK(c->Size() == (i < 2 ? 2u : 1u));  // the third automatic sync is full
  }
  CHECK(incremental == 2);
  CHECK(full == 1);
}

TEST_CASE("Sync: refresh_interval 0 disables automatic syncs; the floor limits them") {
  CacheOverTable off({.refresh_interval = Duration::zero()});
  REQUIRE(off->AutoLoad().ok());
  off.clock->Advance(std::chrono::hours(1));
  off->RunPendingMaintenance();
  CHECK(off.executor->pending() == 0);  // the seed ignored 0; larder honours it

  CacheOverTable floor({.refresh_interval = 1 * kSec, .min_auto_sync_interval = 10 * kSec});
  REQUIRE(floor->AutoLoad().ok());
  floor.clock->Advance(5 * kSec);
  floor->RunPendingMaintenance();
  CHECK(floor.executor->pending() == 0);
  floor.clock->Advance(5 * kSec);
  floor->RunPendingMaintenance();
  CHECK(floor.executor->pending() == 1);
}

TEST_CASE("Sync: syncs keep the statistics; ResetStats zeroes them") {
  CacheOverTable c;
  c.table.Put(c.table.Row(1, "a@x", 1));
  CHECK(c.ById(1) == "a@x");
  CHECK(c.ById(1) == "a@x");
  REQUIRE(c->Sync().ok());
  RecordCacheStats st = c->GetStats();
  CHECK(st.hits == 1);
  CHECK(st.misses == 1);
  CHECK(st.total_requests == 2);
  CHECK(st.hit_rate == 50.0);
  c->ResetStats();
  st = c->GetStats();
  CHECK(st.hits == 0);
  CHECK(st.total_requests == 0);
  CHECK(st.total == 1);
}

}  // namespace larder

namespace larder {

TEST_CASE("Sync: a change feed that lost track triggers a full resync") {
  testing::CacheOverTable c({.lazy_reload = false});
  c.table.Put(c.table.Row(1, "a@x", 1));
  REQUIRE(c->AutoLoad().ok());
  // Changed behind the feed's back (its connection was down), then the feed says so.
  c.table.Put(c.table.Row(1, "changed@x", 1));
  c.table.Put(c.table.Row(2, "b@x", 1));
  Change resync;
  resync.kind = ChangeKind::kResync;
  c.source->Publish(std::span<const Change>(&resync, 1));
  CHECK(c.executor->pending() == 1);
  c.executor->RunPending();
  CHECK(c.ById(1) == "changed@x");
  CHECK(c.ById(2) == "b@x");
}

}  // namespace larder
