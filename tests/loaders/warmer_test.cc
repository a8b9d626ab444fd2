// Warmer: registration, priority order, the parallel bound, failure isolation, categories,
// metrics, expiring-soon selection, SQLite-fed tasks and background warming on a manual clock.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/sqlite_source.h"
#include "larder/warmer.h"
#include "temp_dir.h"

namespace larder {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// A cache on a manual clock with no maintenance thread, and a warmer over it.
struct Env {
  static std::unique_ptr<Cache> OpenCache(std::shared_ptr<ManualClock> clock) {
    CacheOptions o;
    o.clock = std::move(clock);
    o.maintenance_interval = Duration::zero();
    auto cache = Cache::Open(std::move(o));
    REQUIRE(cache.ok());
    return std::move(*cache);
  }
  std::string Read(std::string_view key) {
    std::string v;
    return cache->Get(key, &v) ? v : "<missing>";
  }
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<Cache> cache = OpenCache(clock);
  Warmer warmer{*cache};
};

Fetcher Returns(std::string value) {
  return [value = std::move(value)]() -> Result<std::string> { return value; };
}

// Appends `key` to `log` when it runs.
struct RunLog {
  Fetcher Fetch(std::string key) {
    return [this, key]() -> Result<std::string> {
      std::lock_guard lock(mu);
      order.push_back(key);
      return "v:" + key;
    };
  }
  std::vector<std::string> Order() {
    std::lock_guard lock(mu);
    return order;
  }
  std::mutex mu;
  std::vector<std::string> order;
};

WarmTask Task(std::string key, Fetcher fetcher, int priority = 5, std::string category = "c") {
  WarmTask t;
  t.key = std::move(key);
  t.fetcher = std::move(fetcher);
  t.priority = priority;
  t.category = std::move(category);
  return t;
}

std::vector<std::string> Keys(const std::vector<WarmTaskInfo>& tasks) {
  std::vector<std::string> keys;
  for (const WarmTaskInfo& t : tasks) keys.push_back(t.key);
  return keys;
}

}  // namespace

TEST_CASE("Warmer: WarmAll writes each task's value with its ttl") {
  Env e;
  WarmTask t = Task("companies:list:page:1", Returns("[1,2,3]"));
  t.ttl = seconds(300);
  t.tags = {"companies"};
  REQUIRE(e.warmer.Register(std::move(t)).ok());
  REQUIRE(e.warmer.Register(Task("no-ttl", Returns("x"))).ok());

  auto report = e.warmer.WarmAll();
  REQUIRE(report.ok());
  CHECK(report->total == 2);
  CHECK(report->succeeded == 2);
  CHECK(report->failed == 0);
  CHECK(e.Read("companies:list:page:1") == "[1,2,3]");
  const KeyTtl ttl = e.cache->Ttl("companies:list:page:1");
  CHECK(ttl.remaining == Duration(seconds(300)));
  CHECK_FALSE(e.cache->Ttl("no-ttl").remaining.has_value());
  CHECK(e.cache->InvalidateByTag("companies") == 1);
}

TEST_CASE("Warmer: a priority outside 1..10 is InvalidArgument naming the key and the value") {
  Env e;
  for (int bad : {0, 11, -3}) {
    Status s = e.warmer.Register(Task("users:recent", Returns("x"), bad));
    CHECK(s.IsInvalidArgument());
    CHECK(s.message().find("'users:recent'") != std::string_view::npos);
    CHECK(s.message().find("priority " + std::to_string(bad)) != std::string_view::npos);
  }
  CHECK(e.warmer.Register(Task("lo", Returns("x"), 1)).ok());
  CHECK(e.warmer.Register(Task("hi", Returns("x"), 10)).ok());
  CHECK(e.warmer.task_count() == 2);
}

TEST_CASE("Warmer: Register refuses incomplete tasks") {
  Env e;
  CHECK(e.warmer.Register(Task("", Returns("x"))).message() == "warm task: key is empty");
  Status no_fetcher = e.warmer.Register(Task("k", Fetcher{}));
  CHECK(no_fetcher.IsInvalidArgument());
  CHECK(no_fetcher.message() == "warm task 'k': fetcher is missing");
  WarmTask zero_ttl = Task("k", Returns("x"));
  zero_ttl.ttl = Duration::zero();
  CHECK(e.warmer.Register(std::move(zero_ttl)).message().find("ttl 0 ns is not positive") !=
        std::string_view::npos);
  CHECK(e.warmer.Register(Task("k", Returns("x"), 5, "")).message() ==
        "warm task 'k': category is empty");
  WarmTask empty_tag = Task("k", Returns("x"));
  empty_tag.tags = {""};
  CHECK(e.warmer.Register(std::move(empty_tag)).IsInvalidArgument());
  CHECK(
      e.warmer.Register(Task(std::string(kMaxKeySize + 1, 'k'), Returns("x"))).IsInvalidArgument());
  CHECK(e.warmer.task_count() == 0);
}

TEST_CASE("Warmer: RegisterBatch adds every task, or none when one is invalid") {
  Env e;
  std::vector<WarmTask> bad;
  bad.push_back(Task("a", Returns("1")));
  bad.push_back(Task("b", Returns("2"), 42));
  Status s = e.warmer.RegisterBatch(std::move(bad));
  CHECK(s.IsInvalidArgument());
  CHECK(s.message() == "batch item 1: warm task 'b': priority 42 is outside 1..10");
  CHECK(e.warmer.task_count() == 0);

  std::vector<WarmTask> good;
  good.push_back(Task("a", Returns("1"), 8, "users"));
  good.push_back(Task("b", Returns("2"), 7, "projects"));
  good.push_back(Task("a", Returns("3"), 8, "users"));  // a later one with the same key wins
  REQUIRE(e.warmer.RegisterBatch(std::move(good)).ok());
  CHECK(e.warmer.task_count() == 2);
  REQUIRE(e.warmer.WarmAll().ok());
  CHECK(e.Read("a") == "3");
  CHECK(e.Read("b") == "2");
}

TEST_CASE("Warmer: registering a key again replaces its task; Unregister removes it") {
  Env e;
  REQUIRE(e.warmer.Register(Task("k", Returns("old"), 3, "first")).ok());
  REQUIRE(e.warmer.Register(Task("k", Returns("new"), 9, "second")).ok());
  CHECK(e.warmer.task_count() == 1);
  const std::vector<WarmTaskInfo> tasks = e.warmer.ListTasks();
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].priority == 9);
  CHECK(tasks[0].category == "second");
  REQUIRE(e.warmer.WarmAll().ok());
  CHECK(e.Read("k") == "new");

  CHECK(e.warmer.Unregister("k"));
  CHECK_FALSE(e.warmer.Unregister("k"));
  CHECK(e.warmer.task_count() == 0);
  CHECK(e.warmer.WarmAll()->total == 0);
  CHECK(e.Read("k") == "new");  // what it wrote stays cached
}

TEST_CASE("Warmer: sequential WarmAll runs by priority, 10 first, ties in registration order") {
  Env e;
  RunLog log;
  REQUIRE(e.warmer.Register(Task("low", log.Fetch("low"), 1)).ok());
  REQUIRE(e.warmer.Register(Task("mid-a", log.Fetch("mid-a"), 5)).ok());
  REQUIRE(e.warmer.Register(Task("critical", log.Fetch("critical"), 10)).ok());
  REQUIRE(e.warmer.Register(Task("mid-b", log.Fetch("mid-b"), 5)).ok());
  REQUIRE(e.warmer.Register(Task("high", log.Fetch("high"), 8)).ok());

  const std::vector<std::string> expected = {"critical", "high", "mid-a", "mid-b", "low"};
  CHECK(Keys(e.warmer.ListTasks()) == expected);
  REQUIRE(e.warmer.WarmAll({.parallel = false}).ok());
  CHECK(log.Order() == expected);
}

TEST_CASE("Warmer: parallel WarmAll with max_parallel 1 still runs in priority order") {
  Env e;
  RunLog log;
  for (int p = 1; p <= 10; ++p) {
    const std::string key = "p" + std::to_string(p);
    REQUIRE(e.warmer.Register(Task(key, log.Fetch(key), p)).ok());
  }
  REQUIRE(e.warmer.WarmAll({.parallel = true, .max_parallel = 1}).ok());
  std::vector<std::string> expected;
  for (int p = 10; p >= 1; --p) expected.push_back("p" + std::to_string(p));
  CHECK(log.Order() == expected);
}

TEST_CASE("Warmer: parallel WarmAll runs max_parallel tasks at once and never more") {
  constexpr int kTasks = 16;
  constexpr int kBound = 3;
  // Each fetcher waits until kBound fetchers are inside at once (so the bound is reached: a
  // run that never reaches it fails by the safety deadline, never by a sleep) and records the
  // most that ever were.
  struct Gate {
    std::mutex mu;
    std::condition_variable cv;
    int running = 0;
    int peak = 0;
    bool reached = false;
    std::vector<std::string> started;
    std::set<std::thread::id> threads;
  } gate;
  Env e;
  for (int i = 0; i < kTasks; ++i) {
    const std::string key = "k" + std::to_string(i);
    auto fetch = [&gate, key]() -> Result<std::string> {
      std::unique_lock lock(gate.mu);
      gate.started.push_back(key);
      gate.threads.insert(std::this_thread::get_id());
      gate.peak = std::max(gate.peak, ++gate.running);
      if (gate.running == kBound) gate.reached = true;
      gate.cv.notify_all();
      const bool ok = gate.cv.wait_for(lock, seconds(30), [&] { return gate.reached; });
      --gate.running;
      if (!ok) return Status::DeadlineExceeded("max_parallel fetchers never ran together");
      return key;
    };
    // Priorities 10, 10, 9, 9, ...: the run order is k0, k1, k2, ...
    REQUIRE(e.warmer.Register(Task(key, fetch, 10 - (i * 10 / kTasks))).ok());
  }
  auto report = e.warmer.WarmAll({.parallel = true, .max_parallel = kBound});
  REQUIRE(report.ok());
  CHECK(report->succeeded == kTasks);
  CHECK(gate.peak == kBound);
  // The runners are the calling thread plus kBound - 1 threads.
  CHECK(gate.threads.size() <= kBound);
  // The first wave is the highest priorities.
  const std::vector<std::string> first(gate.started.begin(), gate.started.begin() + kBound);
  CHECK(std::set<std::string>(first.begin(), first.end()) ==
        std::set<std::string>{"k0", "k1", "k2"});
  CHECK(e.Read("k15") == "k15");
}

TEST_CASE("Warmer: a failing task does not stop the others") {
  for (const bool parallel : {false, true}) {
    CAPTURE(parallel);
    Env e;
    REQUIRE(e.warmer.Register(Task("ok-1", Returns("1"), 10)).ok());
    REQUIRE(
        e.warmer
            .Register(Task(
                "down",
                []() -> Result<std::string> { return Status::Unavailable("database is down"); }, 9))
            .ok());
    REQUIRE(e.warmer
                .Register(Task(
                    "throws", []() -> Result<std::string> { throw std::runtime_error("boom"); }, 8))
                .ok());
    REQUIRE(e.warmer.Register(Task("ok-2", Returns("2"), 7)).ok());

    auto report = e.warmer.WarmAll({.parallel = parallel, .max_parallel = 4});
    REQUIRE(report.ok());
    CHECK(report->total == 4);
    CHECK(report->succeeded == 2);
    CHECK(report->failed == 2);
    REQUIRE(report->failures.size() == 2);
    CHECK(report->failures[0].key == "down");
    CHECK(report->failures[0].status == Status::Unavailable("database is down"));
    CHECK(report->failures[1].key == "throws");
    CHECK(report->failures[1].status.IsInternal());
    CHECK(report->failures[1].status.message() == "fetcher threw: boom");
    CHECK(e.Read("ok-1") == "1");
    CHECK(e.Read("ok-2") == "2");
    CHECK_FALSE(e.cache->Exists("down"));
    CHECK_FALSE(e.cache->Exists("throws"));
    CHECK(e.warmer.GetMetrics().failed_tasks == 2);
  }
}

TEST_CASE("Warmer: WarmCategory runs only the tasks of that category") {
  Env e;
  RunLog log;
  REQUIRE(e.warmer.Register(Task("companies:1", log.Fetch("companies:1"), 5, "companies")).ok());
  REQUIRE(e.warmer.Register(Task("users:1", log.Fetch("users:1"), 9, "users")).ok());
  REQUIRE(e.warmer.Register(Task("companies:2", log.Fetch("companies:2"), 9, "companies")).ok());

  auto report = e.warmer.WarmCategory("companies", {.parallel = true});
  REQUIRE(report.ok());
  CHECK(report->total == 2);
  std::vector<std::string> ran = log.Order();
  std::sort(ran.begin(), ran.end());
  CHECK(ran == std::vector<std::string>{"companies:1", "companies:2"});
  CHECK_FALSE(e.cache->Exists("users:1"));

  auto none = e.warmer.WarmCategory("no-such-category");
  REQUIRE(none.ok());
  CHECK(none->total == 0);
  CHECK(log.Order().size() == 2);
}

TEST_CASE("Warmer: tasks are counted and listed by category") {
  Env e;
  REQUIRE(e.warmer.Register(Task("c1", Returns("x"), 5, "companies")).ok());
  REQUIRE(e.warmer.Register(Task("c2", Returns("x"), 6, "companies")).ok());
  REQUIRE(e.warmer.Register(Task("u1", Returns("x"), 5, "users")).ok());
  WarmTask with_ttl = Task("p1", Returns("x"), 2, "projects");
  with_ttl.ttl = seconds(60);
  REQUIRE(e.warmer.Register(std::move(with_ttl)).ok());

  CHECK(e.warmer.CountTasksByCategory() ==
        std::map<std::string, size_t>{{"companies", 2}, {"projects", 1}, {"users", 1}});
  CHECK(Keys(e.warmer.ListTasks("companies")) == std::vector<std::string>{"c2", "c1"});
  CHECK(Keys(e.warmer.ListTasks()) == std::vector<std::string>{"c2", "c1", "u1", "p1"});
  const std::vector<WarmTaskInfo> projects = e.warmer.ListTasks("projects");
  REQUIRE(projects.size() == 1);
  CHECK(projects[0].ttl == Duration(seconds(60)));
  CHECK_FALSE(projects[0].from_source);
  CHECK(e.warmer.ListTasks("none").empty());
}

TEST_CASE("Warmer: metrics describe the last run, timed by the clock") {
  Env e;
  const WarmMetrics before = e.warmer.GetMetrics();
  CHECK(before.runs == 0);
  CHECK(before.started_at_millis == 0);

  e.clock->Advance(seconds(10));
  const int64_t start_ms = e.clock->ToWallMillis(e.clock->NowNanos());
  // Each fetcher moves the clock, standing in for the time a real fetch takes.
  auto takes = [&e](milliseconds d, Result<std::string> out) {
    return [&e, d, out]() {
      e.clock->Advance(d);
      return out;
    };
  };
  REQUIRE(e.warmer.Register(Task("a", takes(milliseconds(100), std::string("a")), 9)).ok());
  REQUIRE(
      e.warmer.Register(Task("b", takes(milliseconds(150), Status::Unavailable("no")), 8)).ok());
  REQUIRE(e.warmer.WarmAll().ok());

  WarmMetrics m = e.warmer.GetMetrics();
  CHECK(m.total_tasks == 2);
  CHECK(m.successful_tasks == 1);
  CHECK(m.failed_tasks == 1);
  CHECK(m.total_time == Duration(milliseconds(250)));
  CHECK(m.started_at_millis == start_ms);
  CHECK(m.completed_at_millis == start_ms + 250);
  CHECK(m.runs == 1);
  CHECK(m.background_passes == 0);

  REQUIRE(e.warmer.WarmCategory("c").ok());
  m = e.warmer.GetMetrics();
  CHECK(m.runs == 2);
  CHECK(m.started_at_millis == start_ms + 250);
  CHECK(m.completed_at_millis == start_ms + 500);
}

TEST_CASE("Warmer: WarmExpiringSoon runs tasks whose keys are missing or about to expire") {
  Env e;
  std::map<std::string, int> runs;
  std::mutex mu;
  auto counted = [&](std::string key, std::optional<Duration> ttl) {
    WarmTask t = Task(key, [&, key]() -> Result<std::string> {
      std::lock_guard lock(mu);
      ++runs[key];
      return key;
    });
    t.ttl = ttl;
    return t;
  };
  REQUIRE(e.warmer.Register(counted("long", minutes(10))).ok());
  REQUIRE(e.warmer.Register(counted("short", seconds(90))).ok());
  REQUIRE(e.warmer.Register(counted("forever", std::nullopt)).ok());
  REQUIRE(e.warmer.Register(counted("edge", seconds(120))).ok());
  REQUIRE(e.warmer.WarmAll().ok());
  REQUIRE(e.warmer.Register(counted("never-warmed", minutes(10))).ok());

  e.clock->Advance(seconds(60));
  // Remaining: long 540 s, short 30 s, edge exactly 60 s, forever none, never-warmed missing.
  auto report = e.warmer.WarmExpiringSoon(seconds(60));
  REQUIRE(report.ok());
  CHECK(report->total == 2);
  CHECK(runs == std::map<std::string, int>{
                    {"long", 1}, {"short", 2}, {"forever", 1}, {"edge", 1}, {"never-warmed", 1}});
  CHECK(e.cache->Ttl("short").remaining == Duration(seconds(90)));

  // A key removed from the cache counts as missing.
  CHECK(e.cache->Delete("long"));
  CHECK(e.warmer.WarmExpiringSoon(Duration::zero())->total == 1);
  CHECK(runs["long"] == 2);
  // Expired counts as missing too.
  e.clock->Advance(seconds(61));
  CHECK(e.warmer.WarmExpiringSoon(Duration::zero())->total == 1);
  CHECK(runs["edge"] == 2);
}

TEST_CASE("Warmer: bad options and thresholds are InvalidArgument") {
  Env e;
  REQUIRE(e.warmer.Register(Task("k", Returns("x"))).ok());
  auto zero = e.warmer.WarmAll({.parallel = true, .max_parallel = 0});
  CHECK(zero.status().IsInvalidArgument());
  CHECK(zero.status().message() == "max_parallel: must be at least 1");
  CHECK(e.warmer.WarmCategory("c", {.parallel = true, .max_parallel = 0})
            .status()
            .IsInvalidArgument());
  CHECK(e.warmer.WarmExpiringSoon(seconds(-1)).status().IsInvalidArgument());
  CHECK_FALSE(e.cache->Exists("k"));
  CHECK(e.warmer.GetMetrics().runs == 0);
}

namespace {

constexpr const char* kUsers = R"sql(
  CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL,
    org_id INTEGER,
    updatedAt DATETIME NOT NULL
  );
  INSERT INTO users VALUES (1, 'ann@x.io', 10, '2024-01-01T10:00:00.000Z');
  INSERT INTO users VALUES (2, 'bob@x.io', 10, '2024-01-02T10:00:00.000Z');
  INSERT INTO users VALUES (3, 'cyd@x.io', 20, '2024-01-03T10:00:00.000Z');
)sql";

// A real SQLite database file with three users.
struct Db {
  Db() {
    REQUIRE(SqliteSource::ExecuteScript(path, kUsers).ok());
    auto opened = SqliteSource::Open({.path = path, .table = "users"});
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    source = *opened;
  }
  SourceWarmTask Task(std::string key, SourceQuery query, std::string prefix) {
    SourceWarmTask t;
    t.key = std::move(key);
    t.source = source;
    t.query = std::move(query);
    t.row_key = KeyFromPrimaryKey(std::move(prefix));
    t.ttl = minutes(5);
    t.category = "users";
    return t;
  }
  testing::TempDir dir;
  std::string path = dir.File("crm.db");
  std::shared_ptr<SqliteSource> source;
};

bool Contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("Warmer: a SQLite table warms one key per row") {
  Db db;
  Env e;
  REQUIRE(e.warmer.RegisterSource(db.Task("users:all", nullptr, "users:")).ok());
  const std::vector<WarmTaskInfo> info = e.warmer.ListTasks();
  REQUIRE(info.size() == 1);
  CHECK(info[0].from_source);

  auto report = e.warmer.WarmAll();
  REQUIRE(report.ok());
  CHECK(report->succeeded == 1);
  CHECK(Contains(e.Read("users:1"), "ann@x.io"));
  CHECK(Contains(e.Read("users:2"), "bob@x.io"));
  CHECK(Contains(e.Read("users:3"), "cyd@x.io"));
  CHECK(e.cache->Ttl("users:3").remaining == Duration(minutes(5)));
  CHECK(e.cache->Size() == 3);

  // A second run refreshes the values from the table.
  REQUIRE(db.source->Execute("UPDATE users SET email = 'ann@new.io' WHERE id = 1").ok());
  REQUIRE(e.warmer.WarmAll().ok());
  CHECK(Contains(e.Read("users:1"), "ann@new.io"));
}

TEST_CASE("Warmer: a SQLite query warms only the rows it returns") {
  Db db;
  Env e;
  REQUIRE(
      e.warmer.RegisterSource(db.Task("org10", RowsWhereIn("org_id", {Value(10)}), "org10:user:"))
          .ok());
  REQUIRE(e.warmer
              .RegisterSource(db.Task(
                  "recent",
                  RowsUpdatedSince("updatedAt",
                                   FieldValue::Time(*ParseTimestamp("2024-01-02T00:00:00Z"))),
                  "recent:"))
              .ok());
  SourceWarmTask emails = db.Task("emails", nullptr, "email:");
  emails.row_value = [](const Record& row) -> Result<std::string> {
    return std::string(row.Get("email").as_string());
  };
  REQUIRE(e.warmer.RegisterSource(std::move(emails)).ok());

  auto report = e.warmer.WarmAll({.parallel = true, .max_parallel = 3});
  REQUIRE(report.ok());
  CHECK(report->succeeded == 3);
  CHECK(e.cache->Exists("org10:user:1"));
  CHECK(e.cache->Exists("org10:user:2"));
  CHECK_FALSE(e.cache->Exists("org10:user:3"));
  CHECK_FALSE(e.cache->Exists("recent:1"));
  CHECK(e.cache->Exists("recent:2"));
  CHECK(e.cache->Exists("recent:3"));
  CHECK(e.Read("email:3") == "cyd@x.io");
}

TEST_CASE("Warmer: a source task's errors fail that task only, with a message") {
  Db db;
  Env e;
  REQUIRE(
      e.warmer.RegisterSource(db.Task("bad-field", RowsWhereIn("no_such_field", {Value(1)}), "x:"))
          .ok());
  SourceWarmTask throws = db.Task("throws", nullptr, "t:");
  throws.row_key = [](const Record&) -> std::string { throw std::runtime_error("bad row"); };
  REQUIRE(e.warmer.RegisterSource(std::move(throws)).ok());
  SourceWarmTask empty = db.Task("empty-key", nullptr, "e:");
  empty.row_key = [](const Record&) { return std::string(); };
  REQUIRE(e.warmer.RegisterSource(std::move(empty)).ok());
  SourceWarmTask value_error = db.Task("value-error", nullptr, "v:");
  value_error.row_value = [](const Record&) -> Result<std::string> {
    return Status::InvalidArgument("cannot encode");
  };
  REQUIRE(e.warmer.RegisterSource(std::move(value_error)).ok());
  REQUIRE(e.warmer.RegisterSource(db.Task("fine", nullptr, "users:")).ok());

  auto report = e.warmer.WarmAll();
  REQUIRE(report.ok());
  CHECK(report->succeeded == 1);
  CHECK(report->failed == 4);
  std::map<std::string, std::string> why;
  for (const WarmFailure& f : report->failures) why[f.key] = std::string(f.status.message());
  CHECK(Contains(why["bad-field"], "source 'users'"));
  CHECK(Contains(why["bad-field"], "no_such_field"));
  CHECK(why["throws"] == "source 'users': row 1: row_key threw: bad row");
  CHECK(why["empty-key"] == "source 'users': row 1: row_key returned an empty key");
  CHECK(why["value-error"] == "source 'users': row 1: cannot encode");
  CHECK(e.cache->Exists("users:3"));
}

TEST_CASE("Warmer: RegisterSource refuses a task without a source or row_key") {
  Db db;
  Env e;
  SourceWarmTask no_source = db.Task("s", nullptr, "p:");
  no_source.source = nullptr;
  CHECK(e.warmer.RegisterSource(std::move(no_source)).message() ==
        "warm task 's': source is missing");
  SourceWarmTask no_key = db.Task("s", nullptr, "p:");
  no_key.row_key = nullptr;
  CHECK(e.warmer.RegisterSource(std::move(no_key)).message() ==
        "warm task 's': row_key is missing");
  CHECK(e.warmer.RegisterSource(db.Task("s", nullptr, "p:")).ok());
  SourceWarmTask bad_priority = db.Task("s", nullptr, "p:");
  bad_priority.priority = 0;
  CHECK(e.warmer.RegisterSource(std::move(bad_priority)).message() ==
        "warm task 's': priority 0 is outside 1..10");
}

TEST_CASE("Warmer: KeyFromPrimaryKey writes the key as plain text") {
  auto schema = *Schema::Create({{"code", FieldType::kString, false}}, "code");
  const Record row = *RecordBuilder(schema).Set("code", "abc").Build();
  CHECK(KeyFromPrimaryKey("country:")(row) == "country:abc");
}

TEST_CASE("Warmer: WarmExpiringSoon follows the keys a source task wrote") {
  Db db;
  Env e;
  std::atomic<int> rows_read{0};
  SourceWarmTask t = db.Task("users:all", nullptr, "users:");
  t.row_value = [&](const Record& row) -> Result<std::string> {
    ++rows_read;
    return row.ToJson();
  };
  REQUIRE(e.warmer.RegisterSource(std::move(t)).ok());

  // Never run: due.
  CHECK(e.warmer.WarmExpiringSoon(Duration::zero())->total == 1);
  CHECK(rows_read == 3);
  e.clock->Advance(minutes(2));
  CHECK(e.warmer.WarmExpiringSoon(minutes(1))->total == 0);  // 3 minutes left
  CHECK(e.cache->Delete("users:2"));
  CHECK(e.warmer.WarmExpiringSoon(minutes(1))->total == 1);
  CHECK(rows_read == 6);
  CHECK(e.cache->Exists("users:2"));
  e.clock->Advance(minutes(4) + seconds(30));  // 30 s left on every row
  CHECK(e.warmer.WarmExpiringSoon(minutes(1))->total == 1);
  CHECK(rows_read == 9);
}

TEST_CASE("Warmer: background warming runs a pass each interval of the clock") {
  Env e;
  std::atomic<int> calls{0};
  REQUIRE(
      e.warmer.Register(Task("k", [&]() -> Result<std::string> { return std::to_string(++calls); }))
          .ok());

  REQUIRE(e.warmer.StartBackgroundWarming(minutes(30)).ok());
  CHECK(e.warmer.background_running());
  e.warmer.WakeBackgroundWarming();
  CHECK(calls == 0);  // the first pass comes one interval after the start
  e.clock->Advance(minutes(29));
  e.warmer.WakeBackgroundWarming();
  CHECK(calls == 0);
  e.clock->Advance(minutes(1));
  e.warmer.WakeBackgroundWarming();
  CHECK(calls == 1);
  CHECK(e.Read("k") == "1");
  WarmMetrics m = e.warmer.GetMetrics();
  CHECK(m.background_passes == 1);
  CHECK(m.runs == 1);
  CHECK(m.successful_tasks == 1);

  e.clock->Advance(minutes(30));
  e.warmer.WakeBackgroundWarming();
  CHECK(calls == 2);

  e.warmer.StopBackgroundWarming();
  CHECK_FALSE(e.warmer.background_running());
  e.clock->Advance(minutes(60));
  e.warmer.WakeBackgroundWarming();  // no thread: nothing runs
  CHECK(calls == 2);
  CHECK(e.warmer.GetMetrics().background_passes == 2);

  // It can be started again.
  REQUIRE(e.warmer.StartBackgroundWarming(minutes(1)).ok());
  e.clock->Advance(minutes(1));
  e.warmer.WakeBackgroundWarming();
  CHECK(calls == 3);
}

TEST_CASE("Warmer: background warming can refresh only what is about to expire") {
  Env e;
  std::map<std::string, int> runs;
  std::mutex mu;
  for (auto [key, ttl] :
       {std::pair{"session-cfg", minutes(10)}, std::pair{"catalog", minutes(60)}}) {
    WarmTask t = Task(key, [&, key = std::string(key)]() -> Result<std::string> {
      std::lock_guard lock(mu);
      ++runs[key];
      return key;
    });
    t.ttl = ttl;
    REQUIRE(e.warmer.Register(std::move(t)).ok());
  }
  REQUIRE(e.warmer.WarmAll().ok());

  std::vector<size_t> pass_totals;  // written on the background thread, read after a wake
  BackgroundWarmingOptions o;
  o.expiring_within = minutes(6);
  o.warm = {.parallel = true, .max_parallel = 2};
  o.on_pass = [&](const WarmReport& r) { pass_totals.push_back(r.total); };
  REQUIRE(e.warmer.StartBackgroundWarming(minutes(5), std::move(o)).ok());
  e.clock->Advance(minutes(5));
  e.warmer.WakeBackgroundWarming();
  {
    std::lock_guard lock(mu);
    CHECK(runs == std::map<std::string, int>{{"session-cfg", 2}, {"catalog", 1}});
  }
  CHECK(pass_totals == std::vector<size_t>{1});
  e.warmer.StopBackgroundWarming();
}

TEST_CASE("Warmer: StartBackgroundWarming refuses a second start and bad arguments") {
  Env e;
  CHECK(e.warmer.StartBackgroundWarming(Duration::zero()).IsInvalidArgument());
  BackgroundWarmingOptions bad;
  bad.warm = {.parallel = true, .max_parallel = 0};
  CHECK(e.warmer.StartBackgroundWarming(minutes(1), bad).message() ==
        "warm: max_parallel: must be at least 1");
  BackgroundWarmingOptions negative;
  negative.expiring_within = seconds(-1);
  CHECK(e.warmer.StartBackgroundWarming(minutes(1), negative).IsInvalidArgument());
  CHECK_FALSE(e.warmer.background_running());

  REQUIRE(e.warmer.StartBackgroundWarming(minutes(1)).ok());
  CHECK(e.warmer.StartBackgroundWarming(minutes(1)).code() == Status::Code::kFailedPrecondition);
  e.warmer.StopBackgroundWarming();
  e.warmer.StopBackgroundWarming();  // idempotent
}

TEST_CASE("Warmer: destroying the warmer stops background warming") {
  auto clock = std::make_shared<ManualClock>();
  auto cache = Env::OpenCache(clock);
  std::atomic<int> calls{0};
  {
    Warmer warmer(*cache);
    REQUIRE(warmer
                .Register(Task("k",
                               [&]() -> Result<std::string> {
                                 ++calls;
                                 return std::string("v");
                               }))
                .ok());
    REQUIRE(warmer.StartBackgroundWarming(minutes(1)).ok());
  }  // joins the thread, which would otherwise wait on the manual clock for a real minute
  clock->Advance(minutes(5));
  CHECK(calls == 0);
}

}  // namespace larder
