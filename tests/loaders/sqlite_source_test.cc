// SqliteSource against real database files: schema discovery, queries, the change feed.
#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <vector>

#include "temp_dir.h"
#include "larder/sqlite_source.h"

namespace larder {
namespace {

constexpr const char* kUsers = R"sql(
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL UNIQUE,
    name TEXT,
    org_id INTEGER,
    score REAL,
    active BOOLEAN,
    avatar BLOB,
    updatedAt DATETIME NOT NULL
  );
  INSERT INTO users VALUES (1, 'ann@x.io', 'Ann', 10, 1.5, 1, x'00ff', '2024-01-01 10:00:00.000 +00:00');
  INSERT INTO users VALUES (2, 'bob@x.io', 'Bob', 10, NULL, 0, NULL, '2024-01-02T10:00:00.000Z');
  INSERT INTO users VALUES (3, 'cyd@x.io', NULL, 20, 2.0, 1, NULL, 1704276000000);
)sql";

struct Fixture {
  Fixture() {
    REQUIRE(SqliteSource::ExecuteScript(db, kUsers).ok());
    auto opened = SqliteSource::Open({.path = db, .table = "users", .max_batch = 2});
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    source = *opened;
  }
  std::vector<int64_t> Ids(const std::function<Status(const RowSink&)>& scan) {
    std::vector<int64_t> ids;
    REQUIRE(scan([&](Record&& r) {
              ids.push_back(r.Get("id").as_int64());
              return Status::OK();
            }).ok());
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  testing::TempDir dir;
  std::string db = dir.File("users.db");
  std::shared_ptr<SqliteSource> source;
};

struct Recorder {
  void operator()(std::span<const Change> changes) {
    std::lock_guard lock(mu);
    ++calls;
    for (const Change& c : changes) {
      std::string s = c.kind == ChangeKind::kCreated   ? "created:"
                      : c.kind == ChangeKind::kUpdated ? "updated:"
                                                       : "deleted:";
      s += c.primary_key.view().ToString();
      if (c.row.valid() && !c.row.Get("email").is_null()) {
        s += "=" + std::string(c.row.Get("email").as_string());
      }
      seen.push_back(s);
    }
  }
  std::mutex mu;
  int calls = 0;
  std::vector<std::string> seen;
};

}  // namespace

TEST_CASE("SqliteSource: reads the schema and primary key from the table") {
  Fixture f;
  const Schema& s = *f.source->schema();
  CHECK(s.primary_key() == "id");
  CHECK(s.field(*s.Find("email")).type == FieldType::kString);
  CHECK_FALSE(s.field(*s.Find("email")).nullable);
  CHECK(s.field(*s.Find("org_id")).type == FieldType::kInt64);
  CHECK(s.field(*s.Find("score")).type == FieldType::kDouble);
  CHECK(s.field(*s.Find("active")).type == FieldType::kBool);
  CHECK(s.field(*s.Find("avatar")).type == FieldType::kBytes);
  CHECK(s.field(*s.Find("updatedAt")).type == FieldType::kTimestamp);
  CHECK(f.source->name() == "users");
}

TEST_CASE("SqliteSource: refuses a missing table and an ambiguous primary key") {
  testing::TempDir dir;
  const std::string db = dir.File("x.db");
  REQUIRE(SqliteSource::ExecuteScript(db, "CREATE TABLE pairs (a INT, b INT, PRIMARY KEY (a, b));")
              .ok());
  auto r = SqliteSource::Open({.path = db, .table = "nope"});
  CHECK(r.status().message().find("table 'nope' does not exist") != std::string_view::npos);
  r = SqliteSource::Open({.path = db, .table = "pairs"});
  CHECK(r.status().message().find("2 primary key columns") != std::string_view::npos);
  r = SqliteSource::Open({.path = db, .table = "pairs", .primary_key = "a"});
  CHECK(r.ok());
}

TEST_CASE("SqliteSource: point lookups, IN lists across batches, full scans") {
  Fixture f;
  auto one = f.source->FindById(FieldValue::Int64(2));
  REQUIRE(one.ok());
  REQUIRE(one->has_value());
  CHECK((*one)->Get("email").as_string() == "bob@x.io");
  CHECK((*one)->Get("score").is_null());
  CHECK_FALSE((*f.source->FindById(FieldValue::Int64(99))).has_value());

  auto by_org = f.source->FindOne("org_id", FieldValue::Int64(10));
  CHECK((*by_org)->Get("id").as_int64() == 1);  // the smallest primary key
  CHECK(f.source->FindOne("missing", FieldValue::Int64(1)).status().IsInvalidArgument());

  std::vector<FieldValue> ids = {FieldValue::Int64(3), FieldValue::Int64(1), FieldValue::Int64(7)};
  CHECK(f.Ids([&](const RowSink& sink) { return f.source->FindWhereIn("id", ids, sink); }) ==
        std::vector<int64_t>{1, 3});  // max_batch = 2: two queries
  CHECK(f.Ids([&](const RowSink& sink) { return f.source->FindAll(sink); }) ==
        std::vector<int64_t>{1, 2, 3});

  // A sink's error stops the scan and comes back.
  int rows = 0;
  Status s = f.source->FindAll([&](Record&&) {
    ++rows;
    return Status::Aborted("enough");
  });
  CHECK(s.IsAborted());
  CHECK(rows == 1);
}

TEST_CASE("SqliteSource: types come back exact, timestamps in any storage") {
  Fixture f;
  auto ann = *f.source->FindById(FieldValue::Int64(1));
  CHECK(ann->Get("avatar").as_bytes() == std::string("\x00\xff", 2));
  CHECK(ann->Get("active").as_bool());
  CHECK(ann->Get("score").as_double() == 1.5);
  CHECK(FormatTimestamp(ann->Get("updatedAt").as_timestamp()) == "2024-01-01T10:00:00.000Z");
  auto cyd = *f.source->FindById(FieldValue::Int64(3));
  CHECK(FormatTimestamp(cyd->Get("updatedAt").as_timestamp()) == "2024-01-03T10:00:00.000Z");
}

TEST_CASE("SqliteSource: rows updated at or after a watermark, whatever the storage") {
  Fixture f;
  const auto since = [&](const char* iso) {
    const FieldValue w = FieldValue::Time(*ParseTimestamp(iso));
    return f.Ids([&](const RowSink& sink) {
      return f.source->FindUpdatedSince("updatedAt", w, sink);
    });
  };
  CHECK(since("2024-01-02T10:00:00.000Z") == std::vector<int64_t>{2, 3});
  CHECK(since("2024-01-02T10:00:00.001Z") == std::vector<int64_t>{3});
  CHECK(since("2025-01-01T00:00:00Z").empty());
  CHECK(f.source->FindUpdatedSince("noSuchField", FieldValue::Int64(0), [](Record&&) {
          return Status::OK();
        }).code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("SqliteSource: a row that does not fit the schema is an error naming the field") {
  Fixture f;
  REQUIRE(f.source->Execute("UPDATE users SET updatedAt = 'not a date' WHERE id = 2").ok());
  auto r = f.source->FindById(FieldValue::Int64(2));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().message().find("field 'updatedAt'") != std::string_view::npos);
  CHECK(r.status().message().find("table 'users'") != std::string_view::npos);
}

TEST_CASE("SqliteSource: the change feed reports every row a committed statement touched") {
  Fixture f;
  Recorder rec;
  auto sub = f.source->SubscribeChanges(std::ref(rec));
  REQUIRE(sub.ok());
  const FieldValue p[] = {FieldValue::Int64(4), FieldValue::String("dan@x.io")};
  REQUIRE(f.source->Execute("INSERT INTO users (id, email, updatedAt) VALUES (?, ?, '2024-02-01')", p)
              .ok());
  REQUIRE(f.source->Execute("UPDATE users SET email = 'ann@new.io' WHERE id = 1").ok());
  REQUIRE(f.source->Execute("DELETE FROM users WHERE id = 3").ok());
  // A bulk statement arrives as one delivery.
  REQUIRE(f.source->Execute("UPDATE users SET org_id = 30 WHERE org_id = 10").ok());
  CHECK(rec.seen == std::vector<std::string>{"created:4=dan@x.io", "updated:1=ann@new.io",
                                             "deleted:3=cyd@x.io", "updated:1=ann@new.io",
                                             "updated:2=bob@x.io"});
  CHECK(rec.calls == 4);
}

TEST_CASE("SqliteSource: transactions deliver at commit and nothing on rollback") {
  Fixture f;
  Recorder rec;
  auto sub = f.source->SubscribeChanges(std::ref(rec));
  REQUIRE(f.source->Execute("BEGIN").ok());
  REQUIRE(f.source->Execute("DELETE FROM users WHERE id = 1").ok());
  CHECK(rec.seen.empty());
  REQUIRE(f.source->Execute("COMMIT").ok());
  CHECK(rec.seen == std::vector<std::string>{"deleted:1=ann@x.io"});
  REQUIRE(f.source->Execute("BEGIN").ok());
  REQUIRE(f.source->Execute("DELETE FROM users WHERE id = 2").ok());
  REQUIRE(f.source->Execute("ROLLBACK").ok());
  REQUIRE(f.source->Execute("SELECT 1").ok());
  CHECK(rec.seen.size() == 1);
  // A changed primary key is a delete and a create.
  REQUIRE(f.source->Execute("UPDATE users SET id = 20 WHERE id = 2").ok());
  CHECK(rec.seen.back() == "created:20=bob@x.io");
  CHECK(rec.seen[rec.seen.size() - 2] == "deleted:2=bob@x.io");
}

TEST_CASE("SqliteSource: unsubscribing stops delivery; other connections are not seen") {
  Fixture f;
  Recorder rec;
  {
    auto sub = f.source->SubscribeChanges(std::ref(rec));
    REQUIRE(SqliteSource::ExecuteScript(f.db, "DELETE FROM users WHERE id = 3;").ok());
    CHECK(rec.seen.empty());  // another connection: not in this source's feed
  }
  REQUIRE(f.source->Execute("DELETE FROM users WHERE id = 2").ok());
  CHECK(rec.seen.empty());
  CHECK(f.Ids([&](const RowSink& sink) { return f.source->FindAll(sink); }) ==
        std::vector<int64_t>{1});
}

}  // namespace larder
