// Record caches on the Redis backplane: a group's caches over one connection pair, a change in
// another process reaching this one, and a server that stays down bounded by
// max_staleness_while_disconnected.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "table_fixture.h"
#include "child_process.h"
#include "larder/backplane.h"
#include "larder/record_cache_group.h"
#include "larder/sqlite_source.h"
#include "redis_fixture.h"
#include "temp_dir.h"

namespace larder {
namespace {

using testing::kSec;
using testing::UsersTable;

// Resyncs reported by a backplane, by cache and reason; waited for, never slept for.
struct ResyncLog {
  void Add(std::string_view cache, ResyncReason reason) {
    std::lock_guard lock(mu);
    seen.emplace_back(std::string(cache), reason);
    cv.notify_all();
  }
  size_t Count(ResyncReason reason) {
    std::lock_guard lock(mu);
    size_t n = 0;
    for (const auto& [cache, r] : seen) n += r == reason ? 1 : 0;
    return n;
  }
  // Waits until `n` resyncs of `reason` were reported, calling `step` between waits.
  template <typename Step>
  bool WaitFor(ResyncReason reason, size_t n, Step step) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      step();
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, std::chrono::milliseconds(50), [&] {
            size_t k = 0;
            for (const auto& [cache, r] : seen) k += r == reason ? 1 : 0;
            return k >= n;
          })) {
        return true;
      }
    }
    return false;
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, ResyncReason>> seen;
};

// One instance: a group with the caches "users" and "orgs" over shared tables, and its
// GroupBackplane.
struct GroupInstance {
  GroupInstance(UsersTable& users, UsersTable& orgs, const RedisOptions& redis,
                Duration bound = Duration::zero())
      : group(Shared()) {
    REQUIRE(group.Add("users", users.Source()).ok());
    REQUIRE(group.Add("orgs", orgs.Source()).ok());
    Result<std::unique_ptr<GroupBackplane>> p = GroupBackplane::Connect(
        group, redis,
        {.on_resync = [this](std::string_view cache, ResyncReason r) { log.Add(cache, r); },
         .max_staleness_while_disconnected = bound,
         .clock = clock});
    REQUIRE_MESSAGE(p.ok(), p.status().ToString());
    plane = std::move(*p);
  }
  ~GroupInstance() { plane.reset(); }
  RecordCacheOptions Shared() {
    RecordCacheOptions o;
    o.clock = clock;
    o.maintenance_interval = Duration::zero();
    o.refresh_interval = Duration::zero();
    return o;
  }
  RecordCache& users() { return *group.Get("users"); }
  RecordCache& orgs() { return *group.Get("orgs"); }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  ResyncLog log;
  RecordCacheGroup group;
  std::unique_ptr<GroupBackplane> plane;
};

// Waits until `done` holds, re-checking after each delivery a backplane reports through `ev`.
struct RemoteEvents {
  explicit RemoteEvents(RecordCache& cache) {
    sub = cache.Subscribe([this](const RecordEvent& ev) {
      if (!ev.remote) return;
      std::lock_guard lock(mu);
      ++count;
      cv.notify_all();
    });
  }
  bool WaitFor(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return count >= n; });
  }
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  Subscription sub;
};

bool Cached(RecordCache& c, int64_t id) { return c.HasById(FieldValue::Int64(id)); }

}  // namespace

TEST_CASE("GroupBackplane over Redis: caches share one connection pair and their own channels") {
  testing::RedisFixture redis;
  if (!redis) return;
  UsersTable users, orgs;
  for (int id = 1; id <= 2; ++id) {
    users.Put(users.Row(id, "u" + std::to_string(id) + "@x", 1));
    orgs.Put(orgs.Row(id, "o" + std::to_string(id) + "@x", 1));
  }
  GroupInstance a(users, orgs, redis.options());
  GroupInstance b(users, orgs, redis.options());
  for (GroupInstance* g : {&a, &b}) {
    for (RecordCache* c : {&g->users(), &g->orgs()}) {
      for (int id = 1; id <= 2; ++id) REQUIRE(c->GetById(FieldValue::Int64(id)).found());
    }
  }
  RemoteEvents b_users(b.users()), b_orgs(b.orgs());

  const Record v2 = users.Row(1, "new@x", 1);
  users.Put(v2);
  REQUIRE(a.users().Upsert(v2).ok());
  REQUIRE(b_users.WaitFor(1));
  CHECK_FALSE(Cached(b.users(), 1));
  CHECK(Cached(b.users(), 2));
  CHECK(Cached(b.orgs(), 1));  // same id, other cache: untouched

  a.orgs().Clear();
  REQUIRE(b_orgs.WaitFor(1));
  CHECK(b.orgs().Size() == 0);
  CHECK(Cached(b.users(), 2));
  a.plane->WaitUntilSent();

  // Two connections per instance, however many caches: one publishing, one subscribed.
  const std::string clients = redis.raw().Run({"CLIENT", "LIST"});
  const auto lines = static_cast<size_t>(std::count(clients.begin(), clients.end(), '\n'));
  CHECK(lines == 2 * 2 + 1);  // + the raw connection asking
  const auto stats = a.plane->GetAllStats();
  REQUIRE(stats.size() == 2);
  CHECK(stats[0].first == "users");
  CHECK(stats[0].second.published == 1);
  CHECK(stats[1].second.published == 1);
  CHECK(b.plane->Get("users")->GetStats().applied == 1);
  CHECK(b.plane->Get("nope") == nullptr);
  CHECK(a.log.seen.empty());
}

TEST_CASE("GroupBackplane over Redis: a server down past the bound resyncs every cache") {
  testing::RedisFixture redis;
  if (!redis) return;
  RedisOptions options = redis.options();
  options.reconnect_backoff_min = std::chrono::milliseconds(10);
  options.reconnect_backoff_max = std::chrono::milliseconds(50);
  UsersTable users, orgs;
  users.Put(users.Row(1, "u1@x", 1));
  orgs.Put(orgs.Row(1, "o1@x", 1));
  GroupInstance a(users, orgs, options, 30 * kSec);
  REQUIRE(a.users().GetById(FieldValue::Int64(1)).found());
  REQUIRE(a.orgs().GetById(FieldValue::Int64(1)).found());

  redis.server().Stop();
  // Reads go on while Redis is down...
  CHECK(a.users().GetById(FieldValue::Int64(1)).found());
  // ... until the bound passes without a connection: then every cache resyncs (no ttl here, so
  // the records go and the next reads reload them from the table).
  REQUIRE(a.log.WaitFor(ResyncReason::kDisconnected, 2, [&] {
    a.clock->Advance(30 * kSec);
    a.plane->RunPendingMaintenance();
  }));
  CHECK_FALSE(Cached(a.users(), 1));
  CHECK_FALSE(Cached(a.orgs(), 1));
  users.Put(users.Row(1, "changed@x", 1));
  RecordLookup r = a.users().GetById(FieldValue::Int64(1));
  REQUIRE(r.found());
  CHECK(r.record().Get("email").as_string() == "changed@x");  // Get never failed

  std::string why;
  REQUIRE_MESSAGE(redis.server().Restart(&why), why);
  REQUIRE(a.log.WaitFor(ResyncReason::kReconnected, 2, [] {}));
  for (const auto& [name, s] : a.plane->GetAllStats()) {
    CHECK(s.connected);
    CHECK(s.disconnects == 1);
  }
}

TEST_CASE("Record backplane over Redis: another process's change feed reaches this instance") {
  testing::RedisFixture redis;
  if (!redis) return;
  testing::TempDir dir;
  const std::string db = dir.File("users.db");
  REQUIRE(SqliteSource::ExecuteScript(
              db, "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT);"
                  "INSERT INTO users VALUES (1, 'a@x', 'old'), (2, 'b@x', 'kept');")
              .ok());
  Result<std::shared_ptr<SqliteSource>> source = SqliteSource::Open({.path = db, .table = "users"});
  REQUIRE(source.ok());
  RecordCacheOptions o;
  o.key_fields = {{"email", true}};
  o.maintenance_interval = Duration::zero();
  Result<std::unique_ptr<RecordCache>> cache = RecordCache::Open(*source, o);
  REQUIRE(cache.ok());
  RecordCache& c = **cache;
  Result<std::unique_ptr<Backplane>> plane = Backplane::Connect(c, redis.options(), {});
  REQUIRE_MESSAGE(plane.ok(), plane.status().ToString());
  RemoteEvents remote(c);
  REQUIRE(c.GetById(FieldValue::Int64(1)).record().Get("name").as_string() == "old");
  REQUIRE(c.GetById(FieldValue::Int64(2)).found());

  testing::ChildProcess child("record-update", std::to_string(redis.port()),
                              db + ",1,new");
  unsigned long long sent = 0;
  CHECK(std::fscanf(child.out, "sent %llu", &sent) == 1);
  CHECK(sent == 1);
  const int status = child.Wait();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(remote.WaitFor(1));
  CHECK_FALSE(Cached(c, 1));  // the old version is no longer served
  CHECK(Cached(c, 2));
  CHECK(c.GetById(FieldValue::Int64(1)).record().Get("name").as_string() == "new");
  CHECK((*plane)->GetStats().received == 1);
  plane->reset();
}

}  // namespace larder
