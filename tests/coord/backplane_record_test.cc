// Backplane for record caches over the in-process PubSub: writes, invalidations and clears in
// one instance reach the others, loads do not, a message that cannot be applied resyncs, and a
// bus that stays down is bounded by max_staleness_while_disconnected.
#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "table_fixture.h"
#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/coord.h"

namespace larder {
namespace {

using testing::kSec;
using testing::UsersTable;

// Two instances of the record cache "users" over one table, on one bus.
struct RecordCluster {
  explicit RecordCluster(RecordCacheOptions o = {}) {
    Result<std::unique_ptr<PubSub>> b = NewLocalPubSub();
    REQUIRE(b.ok());
    bus = std::move(*b);
    o.clock = clock;
    o.executor = executor;
    o.maintenance_interval = Duration::zero();
    o.key_fields = {{"email", true}, {"org_id", false}};
    for (auto* c : {&a, &b_cache}) {
      Result<std::unique_ptr<RecordCache>> opened = RecordCache::Open(table.Source(), o);
      REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
      *c = std::move(*opened);
    }
    a_plane = Attach(*a);
    b_plane = Attach(*b_cache);
  }
  ~RecordCluster() {
    a_plane.reset();
    b_plane.reset();
  }
  std::unique_ptr<Backplane> Attach(RecordCache& cache) {
    Result<std::unique_ptr<Backplane>> p = Backplane::Attach(
        cache, *bus, {.resync = ResyncMode::kMarkStale, .on_resync = [this](ResyncReason r) {
                        std::lock_guard lock(mu);
                        reasons.push_back(r);
                      }});
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    return std::move(*p);
  }
  void Settle() {
    a_plane->WaitUntilSent();
    b_plane->WaitUntilSent();
    REQUIRE(bus->Flush().ok());
  }
  // Both instances load rows 1..n (loads do not travel).
  void LoadBoth(int n) {
    for (int id = 1; id <= n; ++id) {
      table.Put(table.Row(id, "u" + std::to_string(id) + "@x", id % 2));
    }
    for (RecordCache* c : {a.get(), b_cache.get()}) {
      for (int id = 1; id <= n; ++id) REQUIRE(c->GetById(FieldValue::Int64(id)).found());
    }
    Settle();
  }
  static std::string Email(RecordCache& c, int64_t id) {
    RecordLookup r = c.GetById(FieldValue::Int64(id));
    REQUIRE(r.ok());
    return r.found() ? std::string(r.record().Get("email").as_string()) : "<not found>";
  }

  UsersTable table;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::shared_ptr<ManualExecutor> executor = std::make_shared<ManualExecutor>();
  std::unique_ptr<PubSub> bus;
  std::unique_ptr<RecordCache> a, b_cache;
  std::mutex mu;
  std::vector<ResyncReason> reasons;  // written on the bus's threads (under mu), read after Settle
  std::unique_ptr<Backplane> a_plane, b_plane;
};

}  // namespace

TEST_CASE("Record backplane: an Upsert in one instance makes the others reload the row") {
  RecordCluster c;
  c.LoadBoth(3);
  CHECK(c.b_plane->GetStats().received == 0);  // loads do not travel

  const Record v2 = c.table.Row(1, "new@x", 1);
  c.table.Put(v2);
  REQUIRE(c.a->Upsert(v2).ok());
  c.Settle();
  CHECK(c.b_plane->GetStats().applied == 1);
  CHECK_FALSE(c.b_cache->HasById(FieldValue::Int64(1)));  // dropped: the old version is gone
  CHECK_FALSE(c.b_cache->Has("email", FieldValue::String("u1@x")));
  CHECK(c.b_cache->HasById(FieldValue::Int64(2)));        // the others stay
  CHECK(RecordCluster::Email(*c.b_cache, 1) == "new@x");  // the next read reloads it
  CHECK(RecordCluster::Email(*c.a, 1) == "new@x");        // A keeps what it wrote
  // B's removal does not travel back; A's message did not come back to A as a change.
  c.Settle();
  CHECK(c.a_plane->GetStats().received == 0);
  CHECK(c.a_plane->GetStats().own_ignored == 1);
  CHECK(c.reasons.empty());
}

TEST_CASE("Record backplane: Invalidate by a secondary key and Clear reach the others") {
  RecordCluster c;
  c.LoadBoth(4);
  // Records 1 and 3 share org 1: invalidating org 1 in A drops both in B.
  REQUIRE(c.a->Invalidate("org_id", FieldValue::Int64(1)).ok());
  c.Settle();
  CHECK_FALSE(c.b_cache->HasById(FieldValue::Int64(1)));
  CHECK_FALSE(c.b_cache->HasById(FieldValue::Int64(3)));
  CHECK(c.b_cache->HasById(FieldValue::Int64(2)));

  REQUIRE(c.a->Invalidate("email", FieldValue::String("u2@x")).ok());
  c.Settle();
  CHECK_FALSE(c.b_cache->HasById(FieldValue::Int64(2)));
  CHECK(c.b_cache->HasById(FieldValue::Int64(4)));

  c.a->Clear();
  c.Settle();
  CHECK(c.b_cache->Size() == 0);
  CHECK(c.b_plane->GetStats().applied == 3);
  CHECK(c.reasons.empty());
}

TEST_CASE("Record backplane: a message it cannot apply exactly resyncs, a gap too") {
  RecordCluster c(RecordCacheOptions{.ttl = 10 * kSec});
  c.LoadBoth(2);
  // A field B does not index: B cannot tell which records it names, so it revalidates all.
  REQUIRE(c.bus->Publish("larder:bp:users", std::string("lb1 other 1 f 4:name\x04n", 22)).ok());
  c.Settle();
  CHECK(c.b_plane->GetStats().unapplicable == 1);
  REQUIRE(c.reasons.size() == 2);  // both instances heard it
  CHECK(c.reasons[0] == ResyncReason::kUnapplicable);
  // Marked stale, not dropped: still served (stale) while one reload runs.
  CHECK(c.b_cache->Size() == 2);
  CHECK(c.b_cache->IsExpired(FieldValue::Int64(1)));

  c.reasons.clear();
  REQUIRE(c.a->Invalidate("id", FieldValue::Int64(1)).ok());  // seen: B knows A's sequence
  c.a_plane->DropNextForTesting(1);
  REQUIRE(c.a->Invalidate("id", FieldValue::Int64(2)).ok());  // lost
  REQUIRE(c.a->Invalidate("id", FieldValue::Int64(1)).ok());  // seen: the gap shows
  c.Settle();
  CHECK(c.b_plane->GetStats().gaps == 1);
  REQUIRE(c.reasons.size() == 1);
  CHECK(c.reasons[0] == ResyncReason::kGap);
}

TEST_CASE("RecordCache::MarkAllStale: stale-capable records revalidate, the others go") {
  SUBCASE("with a ttl and stale-while-revalidate") {
    testing::CacheOverTable c(RecordCacheOptions{.ttl = 10 * kSec});
    c.table.Put(c.table.Row(1, "a@x", 1));
    REQUIRE(c.ById(1) == "a@x");
    CHECK(c->MarkAllStale() == 1);
    CHECK(c->IsExpired(FieldValue::Int64(1)));
    c.table.Put(c.table.Row(1, "b@x", 1));
    CHECK(c.ById(1) == "a@x");  // served stale, one reload queued
    c.executor->RunPending();
    CHECK(c.ById(1) == "b@x");
    CHECK(c.ByEmail("b@x") == "b@x");  // the index follows the reload
  }
  SUBCASE("without a ttl: removed, indexes included") {
    testing::CacheOverTable c;
    c.table.Put(c.table.Row(1, "a@x", 1));
    REQUIRE(c.ById(1) == "a@x");
    CHECK(c->MarkAllStale() == 1);
    CHECK(c->Size() == 0);
    CHECK_FALSE(c->Has("email", FieldValue::String("a@x")));
    CHECK(c->MarkAllStale() == 0);
  }
}

TEST_CASE("Backplane: max_staleness_while_disconnected resyncs while the bus stays down") {
  auto clock = std::make_shared<ManualClock>();
  CacheOptions o;
  o.clock = clock;
  o.maintenance_interval = Duration::zero();
  Result<std::unique_ptr<Cache>> cache = Cache::Open(std::move(o));
  REQUIRE(cache.ok());
  Result<std::unique_ptr<PubSub>> bus = NewLocalPubSub();
  REQUIRE(bus.ok());
  std::atomic<int> disconnected_resyncs{0}, reconnected_resyncs{0};
  Result<std::unique_ptr<Backplane>> plane = Backplane::Attach(
      **cache, **bus,
      {.name = "users",
       .resync = ResyncMode::kClear,
       .on_resync =
           [&](ResyncReason r) {
             ++(r == ResyncReason::kDisconnected ? disconnected_resyncs : reconnected_resyncs);
           },
       .max_staleness_while_disconnected = 5 * kSec,
       .clock = clock});
  REQUIRE(plane.ok());
  REQUIRE((*cache)->Set("k", "v").ok());

  (*plane)->RunPendingMaintenance();  // connected: nothing to do
  clock->Advance(60 * kSec);
  (*plane)->RunPendingMaintenance();
  CHECK(disconnected_resyncs == 0);

  (*plane)->OnBusConnectionChange(false);
  clock->Advance(4 * kSec);
  (*plane)->RunPendingMaintenance();
  CHECK(disconnected_resyncs == 0);
  CHECK(static_cast<bool>((*cache)->Get("k")));  // within the bound: served

  clock->Advance(1 * kSec);
  (*plane)->RunPendingMaintenance();
  CHECK(disconnected_resyncs == 1);
  CHECK_FALSE(static_cast<bool>((*cache)->Get("k")));  // past it: gone, the next read reloads

  REQUIRE((*cache)->GetOrSet("k", [] { return Result<std::string>(std::string("v2")); }).ok());
  clock->Advance(5 * kSec);  // again, while still down
  (*plane)->RunPendingMaintenance();
  (*plane)->RunPendingMaintenance();
  CHECK(disconnected_resyncs == 2);
  CHECK_FALSE(static_cast<bool>((*cache)->Get("k")));

  (*plane)->OnBusConnectionChange(true);
  CHECK(reconnected_resyncs == 1);
  clock->Advance(60 * kSec);
  (*plane)->RunPendingMaintenance();
  CHECK(disconnected_resyncs == 2);  // connected again: no more
  CHECK((*plane)->GetStats().resyncs == 3);

  CHECK_FALSE(Backplane::Attach(**cache, **bus,
                                {.name = "x", .max_staleness_while_disconnected = -kSec})
                  .ok());
  plane->reset();
}

}  // namespace larder
