// RedisRecordSource against a real redis-server: rows one instance loaded serve another without
// a table query, batches split between Redis and the table, the cache's own changes and the
// change feed remove rows from Redis, and rows Redis holds are validated.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "larder/function_source.h"
#include "larder/redis_record_source.h"
#include "larder/sqlite_source.h"
#include "redis_fixture.h"
#include "table_fixture.h"
#include "temp_dir.h"

namespace larder {
namespace {

using testing::kSec;
using testing::UsersTable;

// The Redis key of the row with integer primary key `id` (type byte 2, 8 bytes big-endian).
std::string RowKey(int64_t id, const std::string& name = "users") {
  std::string key = "larder:l2:" + name + ":r:";
  key.push_back('\x02');
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(static_cast<char>(id >> shift));
  return key;
}

// One instance: a record cache over a RedisRecordSource over the shared table.
struct Instance {
  Instance(UsersTable& table, const RedisOptions& redis) {
    Result<std::shared_ptr<RedisRecordSource>> s =
        RedisRecordSource::Open(table.Source(), redis, {.ttl = 30 * kSec});
    REQUIRE_MESSAGE(s.ok(), s.status().ToString());
    source = *s;
    RecordCacheOptions o;
    o.key_fields = {{"email", true}};
    o.maintenance_interval = Duration::zero();
    o.clock = std::make_shared<ManualClock>();
    cache = std::move(*RecordCache::Open(source, o));
    watch = source->Watch(*cache);
  }
  std::shared_ptr<RedisRecordSource> source;
  std::unique_ptr<RecordCache> cache;
  Subscription watch;
};

bool Found(RecordCache& c, int64_t id) { return c.GetById(FieldValue::Int64(id)).found(); }

}  // namespace

TEST_CASE("RedisRecordSource: a row one instance loaded serves another without a table query") {
  testing::RedisFixture redis;
  if (!redis) return;
  UsersTable table;
  for (int id = 1; id <= 3; ++id) table.Put(table.Row(id, "u" + std::to_string(id) + "@x", 1));
  Instance a(table, redis.options()), b(table, redis.options());

  REQUIRE(Found(*a.cache, 1));
  CHECK(table.find_by_id_calls == 1);
  CHECK(redis.raw().Int({"EXISTS", RowKey(1)}) == 1);
  const long long pttl = redis.raw().Int({"PTTL", RowKey(1)});
  CHECK(pttl > 29'000);
  CHECK(pttl <= 30'000);

  REQUIRE(Found(*b.cache, 1));
  CHECK(table.find_by_id_calls == 1);  // Redis answered
  CHECK(b.source->GetStats().hits == 1);

  // A batch on the primary key: what Redis holds from it, the rest in one table query.
  const FieldValue ids[] = {FieldValue::Int64(1), FieldValue::Int64(2), FieldValue::Int64(3),
                            FieldValue::Int64(4)};
  Instance c(table, redis.options());
  std::vector<RecordLookup> got = c.cache->GetManyByKey("id", ids);
  REQUIRE(got.size() == 4);
  CHECK(got[0].found());
  CHECK(got[1].found());
  CHECK(got[2].found());
  CHECK(got[3].outcome() == LookupOutcome::kNotFound);
  CHECK(table.find_where_in_calls == 1);
  CHECK(table.where_in_values == 3);  // 2, 3 and the missing 4
  CHECK(redis.raw().Int({"EXISTS", RowKey(2)}) == 1);
  CHECK(redis.raw().Int({"EXISTS", RowKey(4)}) == 0);  // rows the table lacks are not kept

  // Lookups by other keys read the table.
  REQUIRE(c.cache->GetByKey("email", FieldValue::String("u1@x")).found());
  CHECK(c.source->GetStats().hits == 1);
}

// A table read that overlaps a removal may have read the old row: it must not reach Redis.
TEST_CASE("RedisRecordSource: rows read while a removal ran are not written to Redis") {
  testing::RedisFixture redis;
  if (!redis) return;
  UsersTable table;
  for (int id = 1; id <= 4; ++id) table.Put(table.Row(id, "u" + std::to_string(id) + "@x", 1));
  std::shared_ptr<Source> inner = table.Source();
  std::function<void()> during_read = [] {};
  FunctionSourceOptions o;
  o.schema = table.schema();
  o.name = "users";
  o.find_all = [&](const RowSink& sink) { return inner->FindAll(sink); };
  o.find_by_id = [&](const FieldValue& id) {
    during_read();
    return inner->FindById(id);
  };
  o.find_where_in = [&](std::string_view field, std::span<const FieldValue> values,
                        const RowSink& sink) {
    during_read();
    return inner->FindWhereIn(field, values, sink);
  };
  Result<std::shared_ptr<RedisRecordSource>> a =
      RedisRecordSource::Open(*FunctionSource::Create(std::move(o)), redis.options(),
                              {.ttl = 30 * kSec});
  REQUIRE(a.ok());
  Instance b(table, redis.options());

  during_read = [&] { REQUIRE(b.cache->Invalidate("id", FieldValue::Int64(1)).ok()); };
  Result<std::optional<Record>> row = (*a)->FindById(FieldValue::Int64(1));
  REQUIRE(row.ok());
  CHECK(row->has_value());  // the caller gets what the table gave
  CHECK(redis.raw().Int({"EXISTS", RowKey(1)}) == 0);
  CHECK((*a)->GetStats().refused == 1);

  // A batch overlapping a clear: none of its rows is written.
  during_read = [&] { b.cache->Clear(); };
  const FieldValue ids[] = {FieldValue::Int64(2), FieldValue::Int64(3)};
  int rows = 0;
  REQUIRE((*a)->FindWhereIn("id", ids, [&](Record&&) {
                ++rows;
                return Status::OK();
              }).ok());
  CHECK(rows == 2);
  CHECK(redis.raw().Int({"EXISTS", RowKey(2)}) == 0);
  CHECK(redis.raw().Int({"EXISTS", RowKey(3)}) == 0);
  CHECK((*a)->GetStats().refused == 3);

  // With nothing in between, rows are written; an overlapping load of the same row does not.
  bool b_read = false;
  during_read = [&] {
    if (std::exchange(b_read, true)) return;  // once
    REQUIRE(Found(*b.cache, 4));              // b finds a's lease and leaves the row to a
  };
  REQUIRE((*a)->FindById(FieldValue::Int64(4)).ok());
  CHECK(redis.raw().Int({"EXISTS", RowKey(4)}) == 1);
  CHECK((*a)->GetStats().writes == 1);
  CHECK(b.source->GetStats().refused == 1);
  CHECK(b.source->GetStats().writes == 0);
}

TEST_CASE("RedisRecordSource: the cache's own changes remove rows from Redis, remote ones not") {
  testing::RedisFixture redis;
  if (!redis) return;
  UsersTable table;
  for (int id = 1; id <= 3; ++id) table.Put(table.Row(id, "u" + std::to_string(id) + "@x", 1));
  Instance a(table, redis.options());
  for (int id = 1; id <= 3; ++id) REQUIRE(Found(*a.cache, id));

  REQUIRE(a.cache->Upsert(table.Row(1, "new@x", 1)).ok());
  CHECK(redis.raw().Int({"EXISTS", RowKey(1)}) == 0);
  CHECK(redis.raw().Int({"EXISTS", RowKey(2)}) == 1);

  {
    RemoteScope remote;  // applying another instance's change: its origin cleaned Redis
    REQUIRE(a.cache->Invalidate("id", FieldValue::Int64(2)).ok());
  }
  CHECK(redis.raw().Int({"EXISTS", RowKey(2)}) == 1);
  REQUIRE(a.cache->Invalidate("id", FieldValue::Int64(2)).ok());
  CHECK(redis.raw().Int({"EXISTS", RowKey(2)}) == 0);

  // By another field: which rows Redis holds for it is unknown, so all go.
  REQUIRE(Found(*a.cache, 2));
  REQUIRE(a.cache->Invalidate("email", FieldValue::String("u3@x")).ok());
  CHECK(redis.raw().Int({"EXISTS", RowKey(2)}) == 0);
  CHECK(redis.raw().Int({"EXISTS", RowKey(3)}) == 0);

  REQUIRE(Found(*a.cache, 3));
  a.cache->Clear();
  CHECK(redis.raw().Int({"EXISTS", RowKey(3)}) == 0);
  CHECK(a.source->GetStats().errors == 0);
}

TEST_CASE("RedisRecordSource: a row Redis holds that is not this table's is a miss") {
  testing::RedisFixture redis;
  if (!redis) return;
  UsersTable table;
  table.Put(table.Row(1, "a@x", 1));
  table.Put(table.Row(2, "b@x", 1));
  Instance a(table, redis.options());
  REQUIRE(redis.raw().Run({"SET", RowKey(1), "not a record"}) == "OK");
  REQUIRE(Found(*a.cache, 1));
  CHECK(table.find_by_id_calls == 1);
  CHECK(a.source->GetStats().misses == 1);
  // Row 2's bytes under row 1's key: valid, but another row.
  REQUIRE(Found(*a.cache, 2));
  const std::string row2 = redis.raw().Run({"GET", RowKey(2)});
  Instance b(table, redis.options());
  REQUIRE(redis.raw().Run({"SET", RowKey(1), row2}) == "OK");
  RecordLookup r = b.cache->GetById(FieldValue::Int64(1));
  REQUIRE(r.found());
  CHECK(r.record().Get("email").as_string() == "a@x");

  CHECK_FALSE(RedisRecordSource::Open(table.Source(), redis.options(), {.ttl = Duration::zero()}).ok());
  CHECK_FALSE(RedisRecordSource::Open(nullptr, redis.options()).ok());
}

TEST_CASE("RedisRecordSource: a change from the feed removes the row from Redis first") {
  testing::RedisFixture redis;
  if (!redis) return;
  testing::TempDir dir;
  const std::string db = dir.File("users.db");
  REQUIRE(SqliteSource::ExecuteScript(
              db, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL);"
                  "INSERT INTO users VALUES (1, 'a@x');")
              .ok());
  std::shared_ptr<SqliteSource> sqlite = *SqliteSource::Open({.path = db, .table = "users"});
  std::shared_ptr<RedisRecordSource> source = *RedisRecordSource::Open(sqlite, redis.options());
  RecordCacheOptions o;
  o.maintenance_interval = Duration::zero();
  std::unique_ptr<RecordCache> cache = std::move(*RecordCache::Open(source, o));
  REQUIRE(cache->AttachHooks().ok());
  bool in_redis_when_applied = true;
  Subscription sub = cache->Subscribe(
      [&](const RecordEvent&) { in_redis_when_applied = redis.raw().Int({"EXISTS", RowKey(1)}) == 1; },
      RecordEventBit(RecordEventType::kItemUpdated));
  REQUIRE(cache->GetById(FieldValue::Int64(1)).found());
  REQUIRE(redis.raw().Int({"EXISTS", RowKey(1)}) == 1);

  const FieldValue params[] = {FieldValue::String("b@x"), FieldValue::Int64(1)};
  REQUIRE(sqlite->Execute("UPDATE users SET email = ?1 WHERE id = ?2", params).ok());
  CHECK_FALSE(in_redis_when_applied);
  CHECK(redis.raw().Int({"EXISTS", RowKey(1)}) == 0);
  CHECK(cache->GetById(FieldValue::Int64(1)).record().Get("email").as_string() == "b@x");
  cache.reset();
}

}  // namespace larder
