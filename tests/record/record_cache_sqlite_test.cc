// RecordCache over a real SQLite table: AutoLoad, the change feed (hooks), readiness, shutdown
// and process signals.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "child_process.h"
#include "larder/sqlite_source.h"
#include "table_fixture.h"
#include "temp_dir.h"

namespace larder {
namespace {

constexpr const char* kUsersTable = R"sql(
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    org_id INTEGER,
    updatedAt DATETIME NOT NULL
  );
  INSERT INTO users VALUES (1, 'ann@x.io', 'Ann', 10, '2024-01-01T00:00:00Z');
  INSERT INTO users VALUES (2, 'bob@x.io', 'Bob', 10, '2024-01-01T00:00:00Z');
  INSERT INTO users VALUES (3, 'cyd@x.io', 'Cyd', 20, '2024-01-01T00:00:00Z');
)sql";

struct SqliteCache {
  explicit SqliteCache(RecordCacheOptions o = {}) {
    REQUIRE(SqliteSource::ExecuteScript(db, kUsersTable).ok());
    source = *SqliteSource::Open({.path = db, .table = "users"});
    clock = std::make_shared<ManualClock>();
    o.clock = clock;
    o.maintenance_interval = Duration::zero();
    if (o.key_fields.empty()) o.key_fields = {{"email", true}, {"org_id", false}};
    cache = *RecordCache::Open(source, std::move(o));
  }
  std::string Email(int64_t id) {
    RecordLookup r = cache->GetById(FieldValue::Int64(id));
    return r.found() ? std::string(r.record().Get("email").as_string()) : "<none>";
  }
  testing::TempDir dir;
  std::string db = dir.File("users.db");
  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<SqliteSource> source;
  std::unique_ptr<RecordCache> cache;
};

}  // namespace

TEST_CASE("SQLite: AutoLoad syncs, attaches hooks, and is ready") {
  SqliteCache c({.lazy_reload = false});
  std::vector<std::string> seen;
  Subscription sub = c.cache->Subscribe(
      [&](const RecordEvent& ev) { seen.emplace_back(RecordEventTypeName(ev.type)); },
      RecordEventBit(RecordEventType::kSynced) | RecordEventBit(RecordEventType::kReady));
  CHECK_FALSE(c.cache->IsReady());
  REQUIRE(c.cache->AutoLoad().ok());
  CHECK(c.cache->IsReady());
  CHECK(c.cache->WaitUntilReady(Duration::zero()).ok());
  CHECK(seen == std::vector<std::string>{"synced", "ready"});
  CHECK(c.cache->Size() == 3);
  CHECK(c.Email(2) == "bob@x.io");
}

TEST_CASE("SQLite: the change feed keeps the cache and its indexes current") {
  SqliteCache c({.lazy_reload = false});
  REQUIRE(c.cache->AutoLoad().ok());
  std::vector<std::string> events;
  Subscription sub = c.cache->Subscribe(
      [&](const RecordEvent& ev) {
        std::string s(RecordEventTypeName(ev.type));
        if (ev.record.valid()) s += ":" + std::string(ev.record.Get("email").as_string());
        events.push_back(s);
      },
      RecordEventBit(RecordEventType::kItemCreated) | RecordEventBit(RecordEventType::kItemUpdated) |
          RecordEventBit(RecordEventType::kItemRemoved));
  REQUIRE(c.source->Execute(
                    "INSERT INTO users VALUES (4, 'dan@x.io', 'Dan', 20, '2024-02-01T00:00:00Z')")
              .ok());
  REQUIRE(c.source->Execute("UPDATE users SET email = 'ann@new.io', org_id = 30 WHERE id = 1").ok());
  REQUIRE(c.source->Execute("DELETE FROM users WHERE id = 3").ok());
  REQUIRE(c.source->Execute("UPDATE users SET name = 'bulk' WHERE org_id IN (10, 20)").ok());
  CHECK(events == std::vector<std::string>{"item_created:dan@x.io", "item_updated:ann@new.io",
                                           "item_removed:cyd@x.io", "item_updated:bob@x.io",
                                           "item_updated:dan@x.io"});
  CHECK(c.Email(4) == "dan@x.io");
  CHECK(c.Email(3) == "<none>");
  // The indexed field that changed: the old slots are gone, the new ones found.
  CHECK_FALSE(c.cache->Has("email", FieldValue::String("ann@x.io")));
  CHECK(c.cache->GetByKey("email", FieldValue::String("ann@new.io")).found());
  CHECK(c.cache->GetByKey("org_id", FieldValue::Int64(10)).count() == 1);  // bob only
  CHECK(c.cache->GetByKey("org_id", FieldValue::Int64(30)).count() == 1);
  RecordLookup bob = c.cache->GetById(FieldValue::Int64(2));
  CHECK(bob.record().Get("name").as_string() == "bulk");
}

TEST_CASE("SQLite: attaching hooks twice is once; detaching stops them") {
  SqliteCache c;
  REQUIRE(c.cache->Sync().ok());
  REQUIRE(c.cache->AttachHooks().ok());
  REQUIRE(c.cache->AttachHooks().ok());
  int updates = 0;
  Subscription sub = c.cache->Subscribe([&](const RecordEvent&) { ++updates; },
                                        RecordEventBit(RecordEventType::kItemUpdated));
  REQUIRE(c.source->Execute("UPDATE users SET name = 'x' WHERE id = 1").ok());
  CHECK(updates == 1);
  c.cache->DetachHooks();
  REQUIRE(c.source->Execute("UPDATE users SET email = 'late@x.io' WHERE id = 1").ok());
  CHECK(updates == 1);
  CHECK(c.Email(1) == "ann@x.io");  // not followed any more
}

TEST_CASE("SQLite: a failed initial load is reported, not ready with an empty cache") {
  testing::TempDir dir;
  const std::string db = dir.File("users.db");
  REQUIRE(SqliteSource::ExecuteScript(db, kUsersTable).ok());
  auto source = *SqliteSource::Open({.path = db, .table = "users"});
  // Break the rows: the initial sync cannot read them.
  REQUIRE(source->Execute("UPDATE users SET updatedAt = 'garbage' WHERE id = 2").ok());
  auto cache = *RecordCache::Open(source, {.maintenance_interval = Duration::zero()});
  Status s = cache->AutoLoad();
  CHECK_FALSE(s.ok());
  CHECK_FALSE(cache->IsReady());
  CHECK(cache->WaitUntilReady(Duration::zero()).message() == s.message());

  auto lenient = *RecordCache::Open(source, {.start_empty_on_failure = true, .logger = [](LogLevel, std::string_view) {},
                                             .maintenance_interval = Duration::zero()});
  CHECK(lenient->AutoLoad().ok());
  CHECK(lenient->IsReady());
}

TEST_CASE("SQLite: WaitUntilReady times out on the cache's clock") {
  testing::UsersTable table;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  FunctionSourceOptions o;
  o.schema = table.schema();
  o.find_all = [&](const RowSink&) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return Status::OK();
  };
  auto clock = std::make_shared<ManualClock>();
  auto cache = *RecordCache::Open(*FunctionSource::Create(o),
                                  {.clock = clock, .maintenance_interval = Duration::zero()});
  cache->AutoLoadInBackground();
  Status waited;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waited = cache->WaitUntilReady(5 * testing::kSec);
    returned = true;
  });
  // No sleeping: the deadline is on the manual clock, moved until the waiter gives up.
  while (!returned) {
    clock->Advance(1 * testing::kSec);
    std::this_thread::yield();
  }
  waiter.join();
  CHECK(waited.code() == Status::Code::kDeadlineExceeded);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  CHECK(cache->WaitUntilReady(std::chrono::hours(1)).ok());
}

TEST_CASE("SQLite: destroying the cache stops timers, hooks and waits for loads in flight") {
  SqliteCache c({.ttl = 10 * testing::kSec, .refresh_interval = 1 * testing::kSec, .min_auto_sync_interval = 1 * testing::kSec});
  REQUIRE(c.cache->AutoLoad().ok());
  c.cache.reset();
  // The source lives on; its writes reach no one and nothing crashes.
  REQUIRE(c.source->Execute("UPDATE users SET name = 'after' WHERE id = 1").ok());
}

TEST_CASE("SQLite: SIGTERM runs the exit hook, shuts caches down and ends the process") {
  testing::TempDir dir;
  const std::string db = dir.File("users.db");
  REQUIRE(SqliteSource::ExecuteScript(db, kUsersTable).ok());
  const std::string marker = dir.File("marker");
  // The child: a cache that handles signals (installed once, however often it is asked).
  testing::ChildProcess child("record-sigterm", db, marker);
  const int status = child.Wait();
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  std::ifstream in(marker);
  std::string size;
  in >> size;
  CHECK(size == "3");
}

}  // namespace larder
