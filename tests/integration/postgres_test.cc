// PostgreSQL, for real: the source's schema and queries, a RecordCache synced from it, its change
// feed driven from a second connection, and the server going away and coming back.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <libpq-fe.h>

#include "larder/postgres_source.h"
#include "larder/record_cache.h"
#include "postgres_server.h"

namespace larder {
namespace {

std::atomic<int> g_table_seq{0};

// Statements the tests run as "another service": a plain libpq connection of their own.
struct PgAdmin {
  PgAdmin() : conn(PQconnectdb(testing::PostgresServer::Get().conninfo().c_str())) {
    REQUIRE(PQstatus(conn) == CONNECTION_OK);
  }
  ~PgAdmin() { PQfinish(conn); }
  bool Exec(const std::string& sql) {
    PGresult* r = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok) MESSAGE(PQresultErrorMessage(r));
    PQclear(r);
    return ok;
  }
  PGconn* conn;
};

// A fresh users table per test, so tests never see each other's rows.
struct PgTable {
  PgTable() : name("users_" + std::to_string(g_table_seq++)) {
    REQUIRE(admin.Exec("DROP TABLE IF EXISTS " + name));
    REQUIRE(admin.Exec("CREATE TABLE " + name +
                       " (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, name text, "
                       "org_id integer, score numeric, active boolean, avatar bytea, "
                       "\"updatedAt\" timestamptz NOT NULL DEFAULT now())"));
    REQUIRE(admin.Exec("INSERT INTO " + name +
                       " VALUES (1, 'ann@x.io', 'Ann', 10, 1.5, true, '\\x00ff', "
                       "'2024-01-01 10:00:00.123456+00'), "
                       "(2, 'bob@x.io', NULL, 10, NULL, false, NULL, '2024-01-02 10:00:00+00'), "
                       "(3, 'cyd@x.io', 'Cyd', 20, 2, true, NULL, '2024-01-03 10:00:00+00')"));
  }
  std::shared_ptr<PostgresSource> Open() {
    auto s = PostgresSource::Open({.conninfo = testing::PostgresServer::Get().conninfo(),
                                   .table = name,
                                   .max_batch = 3,
                                   .reconnect_min = std::chrono::milliseconds(20),
                                   .reconnect_max = std::chrono::milliseconds(200)});
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    return *s;
  }
  std::string name;
  PgAdmin admin;
};

// Waits (on events, not on time) until `done()` holds, or 20 s pass.
struct Waiter {
  explicit Waiter(RecordCache& cache)
      : sub(cache.Subscribe([this](const RecordEvent&) {
          std::lock_guard lock(mu);
          cv.notify_all();
        })) {}
  bool Until(const std::function<bool()>& done) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return done(); });
  }
  std::mutex mu;
  std::condition_variable cv;
  Subscription sub;
};

std::string Email(RecordCache& c, int64_t id) {
  RecordLookup r = c.GetById(FieldValue::Int64(id));
  if (!r.ok()) return "<error>";
  return r.found() ? std::string(r.record().Get("email").as_string()) : "<none>";
}

}  // namespace

TEST_CASE("Postgres: the source reads its schema and rows from the server") {
  PgTable t;
  auto src = t.Open();
  const Schema& s = *src->schema();
  CHECK(s.primary_key() == "id");
  CHECK(s.field(*s.Find("id")).type == FieldType::kInt64);
  CHECK(s.field(*s.Find("score")).type == FieldType::kDouble);
  CHECK(s.field(*s.Find("active")).type == FieldType::kBool);
  CHECK(s.field(*s.Find("avatar")).type == FieldType::kBytes);
  CHECK(s.field(*s.Find("updatedAt")).type == FieldType::kTimestamp);
  CHECK_FALSE(s.field(*s.Find("email")).nullable);

  auto ann = src->FindById(FieldValue::Int64(1));
  REQUIRE(ann.ok());
  REQUIRE(ann->has_value());
  CHECK((*ann)->Get("avatar").as_bytes() == std::string("\x00\xff", 2));
  CHECK((*ann)->Get("score").as_double() == 1.5);
  CHECK((*ann)->Get("updatedAt").as_timestamp().micros == 1'704'103'200'123'456);
  CHECK_FALSE((*src->FindById(FieldValue::Int64(99))).has_value());
  CHECK((*src->FindOne("org_id", FieldValue::Int64(10)))->Get("id").as_int64() == 1);

  int rows = 0;
  std::vector<FieldValue> ids = {FieldValue::Int64(1), FieldValue::Int64(2), FieldValue::Int64(3),
                                 FieldValue::Int64(4)};
  REQUIRE(src->FindWhereIn("id", ids, [&](Record&&) { return ++rows, Status::OK(); }).ok());
  CHECK(rows == 3);  // two queries of at most 3 values
  rows = 0;
  REQUIRE(src->FindAll([&](Record&&) { return ++rows, Status::OK(); }).ok());
  CHECK(rows == 3);
  rows = 0;
  const FieldValue since = FieldValue::Time(*ParseTimestamp("2024-01-02T10:00:00Z"));
  REQUIRE(src->FindUpdatedSince("updatedAt", since, [&](Record&&) { return ++rows, Status::OK(); }).ok());
  CHECK(rows == 2);
  CHECK(PostgresSource::Open({.conninfo = testing::PostgresServer::Get().conninfo(), .table = "nope"})
            .status()
            .message()
            .find("does not exist") != std::string_view::npos);
}

TEST_CASE("Postgres: a cache syncs from the server and follows changes made elsewhere") {
  PgTable t;
  auto src = t.Open();
  REQUIRE(src->InstallChangeTrigger().ok());
  auto cache = *RecordCache::Open(src, {.key_fields = {{"email", true}, {"org_id", false}},
                                        .lazy_reload = false,
                                        .maintenance_interval = Duration::zero()});
  REQUIRE(cache->AutoLoad().ok());
  CHECK(cache->Size() == 3);
  Waiter w(*cache);

  // A second connection, as another service writing to the table would.
  PgAdmin other;
  REQUIRE(other.Exec("INSERT INTO " + t.name + " (id, email, org_id) VALUES (4, 'dan@x.io', 20)"));
  CHECK(w.Until([&] { return Email(*cache, 4) == "dan@x.io"; }));
  REQUIRE(other.Exec("UPDATE " + t.name + " SET email = 'ann@new.io', org_id = 30 WHERE id = 1"));
  CHECK(w.Until([&] { return Email(*cache, 1) == "ann@new.io"; }));
  CHECK_FALSE(cache->Has("email", FieldValue::String("ann@x.io")));
  CHECK(cache->GetByKey("org_id", FieldValue::Int64(30)).found());
  REQUIRE(other.Exec("DELETE FROM " + t.name + " WHERE id = 3"));
  CHECK(w.Until([&] { return Email(*cache, 3) == "<none>"; }));
  // A bulk update: every row it touches arrives.
  REQUIRE(other.Exec("UPDATE " + t.name + " SET name = 'bulk'"));
  CHECK(w.Until([&] {
    int n = 0;
    for (int id : {1, 2, 4}) {
      RecordLookup r = cache->GetById(FieldValue::Int64(id));
      if (r.found() && r.record().Get("name") == FieldValue::String("bulk")) ++n;
    }
    return n == 3;
  }));
}

TEST_CASE("Postgres: the server going away and coming back") {
  if (!testing::PostgresServer::Get().owned()) {
    MESSAGE("LARDER_TEST_PG names an outside server: outage test skipped");
    return;
  }
  PgTable t;
  auto src = t.Open();
  REQUIRE(src->InstallChangeTrigger().ok());
  auto clock = std::make_shared<ManualClock>();
  auto cache = *RecordCache::Open(src, {.ttl = std::chrono::seconds(10),
                                        .stale_ttl = std::chrono::seconds(60),
                                        .logger = [](LogLevel, std::string_view) {},
                                        .clock = clock,
                                        .maintenance_interval = Duration::zero()});
  REQUIRE(cache->AutoLoad().ok());
  std::atomic<int> errors{0};
  Subscription errs = cache->Subscribe([&](const RecordEvent&) { ++errors; },
                                       RecordEventBit(RecordEventType::kError));
  Waiter w(*cache);

  testing::PostgresServer::Get().Stop();
  clock->Advance(std::chrono::seconds(15));  // records are stale now
  RecordLookup stale = cache->GetById(FieldValue::Int64(1));
  REQUIRE(stale.found());  // fail-safe: served while the source is away
  CHECK(stale.record().stale());
  RecordLookup missing = cache->GetById(FieldValue::Int64(99));
  CHECK(missing.status().IsUnavailable());  // reported, not hidden
  CHECK(errors >= 1);

  testing::PostgresServer::Get().Start();
  // The cache recovers: its queries reconnect, its listener reconnects (and resyncs).
  PgAdmin other;
  REQUIRE(other.Exec("UPDATE " + t.name + " SET email = 'back@x.io' WHERE id = 2"));
  CHECK(w.Until([&] { return Email(*cache, 2) == "back@x.io"; }));
  CHECK(Email(*cache, 1) == "ann@x.io");
  CHECK(cache->GetById(FieldValue::Int64(99)).outcome() == LookupOutcome::kNotFound);
}

}  // namespace larder
