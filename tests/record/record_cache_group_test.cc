// RecordCacheGroup: named caches started, refreshed, cleared and observed together.
#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "larder/record_cache_group.h"
#include "table_fixture.h"

namespace larder {
namespace {

using testing::kSec;
using testing::UsersTable;

// Two tables, "users" and "admins", in a group on a manual clock.
struct TwoTables {
  explicit TwoTables(std::shared_ptr<Executor> executor = nullptr, RecordCacheOptions shared = {}) {
    users.Put(users.Row(1, "ann@x.io", 10));
    users.Put(users.Row(2, "bob@x.io", 10));
    admins.Put(admins.Row(7, "root@x.io", 1));
    clock = std::make_shared<ManualClock>();
    shared.clock = clock;
    shared.executor = std::move(executor);
    shared.maintenance_interval = Duration::zero();
    shared.logger = [](LogLevel, std::string_view) {};
    group = std::make_unique<RecordCacheGroup>(std::move(shared));
    REQUIRE(group->Add("users", users.Source(), [](RecordCacheOptions& o) {
                   o.key_fields = {{"email", true}, {"org_id", false}};
                 }).ok());
    REQUIRE(group->Add("admins", admins.Source()).ok());
  }
  UsersTable users;
  UsersTable admins;
  std::shared_ptr<ManualClock> clock;
  std::unique_ptr<RecordCacheGroup> group;
};

std::string EmailOf(RecordCache* c, int64_t id) {
  RecordLookup r = c->GetById(FieldValue::Int64(id));
  return r.found() ? std::string(r.record().Get("email").as_string()) : "<none>";
}

}  // namespace

TEST_CASE("Group: InitAll loads every cache; caches are found by name, in order added") {
  TwoTables t;
  CHECK_FALSE(t.group->IsReady());
  REQUIRE(t.group->InitAll().ok());
  CHECK(t.group->IsReady());
  CHECK(t.group->Names() == std::vector<std::string>{"users", "admins"});
  REQUIRE(t.group->Get("users") != nullptr);
  CHECK(t.group->Get("nobody") == nullptr);
  CHECK(*t.group->Size("users") == 2);
  CHECK(*t.group->Size("admins") == 1);
  CHECK(t.group->TotalSize() == 3);
  CHECK(t.users.find_all_calls == 1);
  CHECK(t.admins.find_all_calls == 1);
  // Each cache keeps its own options: only "users" indexes email.
  CHECK(t.group->Get("users")->GetByKey("email", FieldValue::String("bob@x.io")).found());
  CHECK(t.group->Get("admins")->GetByKey("email", FieldValue::String("root@x.io")).status().IsInvalidArgument());
}

TEST_CASE("Group: an init failure names the cache it came from") {
  TwoTables t;
  t.admins.Fail(Status::Unavailable("connection refused"));
  Status s = t.group->InitAll();
  CHECK(s.IsUnavailable());
  CHECK(s.message() == "cache 'admins': connection refused");
  CHECK(t.group->Get("users")->IsReady());
  CHECK_FALSE(t.group->IsReady());

  TwoTables both;
  both.users.Fail(Status::Unavailable("users down"));
  both.admins.Fail(Status::Unavailable("admins down"));
  Status s2 = both.group->InitAll();
  CHECK(s2.message() == "2 caches failed (users, admins): cache 'users': users down");
}

TEST_CASE("Group: Add refuses an empty or taken name and bad options, naming the cache") {
  TwoTables t;
  UsersTable other;
  Result<RecordCache*> dup = t.group->Add("users", other.Source());
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message() == "name: a cache named 'users' is already in the group");
  CHECK(t.group->Add("", other.Source()).status().IsInvalidArgument());
  Result<RecordCache*> bad = t.group->Add("orders", other.Source(), [](RecordCacheOptions& o) {
    o.key_fields = {{"sku", true}};
  });
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().IsInvalidArgument());
  CHECK(bad.status().message().starts_with("cache 'orders': key_fields: 'sku' is not a field"));
  CHECK(t.group->Names().size() == 2);  // nothing half-added
}

TEST_CASE("Group: WaitUntilReady names the caches still loading; the loads share one executor") {
  auto executor = std::make_shared<ManualExecutor>();
  TwoTables t(executor);
  t.group->InitAllInBackground();
  CHECK(executor->pending() == 2);  // both loads went to the one shared executor
  Status s = t.group->WaitUntilReady(Duration::zero());
  CHECK(s.code() == Status::Code::kDeadlineExceeded);
  CHECK(s.message() == "not ready after 0 ms: users, admins");

  executor->RunPending();
  CHECK(t.group->WaitUntilReady(Duration::zero()).ok());
  CHECK(t.group->IsReady());
}

TEST_CASE("Group: WaitUntilReady waits for a slow cache until the deadline passes") {
  UsersTable fast;
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  FunctionSourceOptions o;
  o.schema = fast.schema();
  o.name = "slow";
  o.find_all = [&](const RowSink&) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return release; });
    return Status::OK();
  };
  auto clock = std::make_shared<ManualClock>();
  RecordCacheGroup group({.clock = clock, .maintenance_interval = Duration::zero()});
  REQUIRE(group.Add("fast", fast.Source()).ok());
  REQUIRE(group.Add("slow", *FunctionSource::Create(o)).ok());
  group.InitAllInBackground();
  Status waited;
  std::atomic<bool> returned{false};
  std::thread waiter([&] {
    waited = group.WaitUntilReady(5 * kSec);
    returned = true;
  });
  while (!returned) {
    clock->Advance(1 * kSec);
    std::this_thread::yield();
  }
  waiter.join();
  CHECK(waited.code() == Status::Code::kDeadlineExceeded);
  CHECK(waited.message() == "not ready after 5000 ms: slow");
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  CHECK(group.WaitUntilReady(std::chrono::hours(1)).ok());
}

TEST_CASE("Group: events arrive with the cache's name, for caches added before and after") {
  auto executor = std::make_shared<ManualExecutor>();
  TwoTables t(executor);
  std::mutex mu;
  std::vector<std::string> seen;
  Subscription sub = t.group->Subscribe(
      [&](std::string_view cache, const RecordEvent& ev) {
        std::lock_guard lock(mu);
        seen.push_back(std::string(cache) + ":" + std::string(RecordEventTypeName(ev.type)));
      },
      RecordEventBit(RecordEventType::kReady) | RecordEventBit(RecordEventType::kCleared));
  UsersTable later;
  REQUIRE(t.group->Add("later", later.Source()).ok());
  t.group->InitAllInBackground();
  executor->RunPending();
  REQUIRE(t.group->WaitUntilReady(Duration::zero()).ok());
  t.group->ClearAll();
  CHECK(seen == std::vector<std::string>{"users:ready", "admins:ready", "later:ready",
                                         "users:cleared", "admins:cleared", "later:cleared"});
  sub.Reset();
  t.group->ClearAll();
  CHECK(seen.size() == 6);  // unsubscribed from every cache
}

TEST_CASE("Group: per-name Clear, Refresh and GetStats touch only that cache") {
  auto executor = std::make_shared<ManualExecutor>();
  TwoTables t(executor);
  t.group->InitAllInBackground();
  executor->RunPending();
  REQUIRE(t.group->WaitUntilReady(Duration::zero()).ok());

  REQUIRE(t.group->Clear("admins").ok());
  CHECK(*t.group->Size("admins") == 0);
  CHECK(*t.group->Size("users") == 2);
  Status unknown = t.group->Clear("orders");
  CHECK(unknown.IsNotFound());
  CHECK(unknown.message() == "no cache named 'orders' in the group");
  CHECK(t.group->Refresh("orders").IsNotFound());
  CHECK(t.group->GetStats("orders").status().IsNotFound());
  CHECK(t.group->Size("orders").status().IsNotFound());

  t.users.Put(t.users.Row(3, "cyd@x.io", 20, 5000));
  REQUIRE(t.group->Refresh("users").ok());
  CHECK(*t.group->Size("users") == 3);
  CHECK(*t.group->Size("admins") == 0);  // not refreshed
  CHECK(EmailOf(t.group->Get("users"), 3) == "cyd@x.io");

  REQUIRE(t.group->RefreshAll(true).ok());
  CHECK(*t.group->Size("admins") == 1);
  RecordCacheStats users = *t.group->GetStats("users");
  CHECK(users.total == 3);
  CHECK(users.hits == 1);
  auto all = t.group->GetAllStats();
  REQUIRE(all.size() == 2);
  CHECK(all[0].first == "users");
  CHECK(all[1].first == "admins");
  CHECK(all[1].second.total == 1);
  CHECK(all[1].second.hits == 0);

  t.admins.Fail(Status::Unavailable("gone"));
  Status refreshed = t.group->RefreshAll();
  CHECK(refreshed.IsUnavailable());
  CHECK(refreshed.message() == "cache 'admins': gone");
  CHECK(t.group->Refresh("admins").message() == "cache 'admins': gone");
}

TEST_CASE("Group: one maintenance pass expires records in every cache") {
  auto executor = std::make_shared<ManualExecutor>();
  TwoTables t(executor, {.ttl = 10 * kSec, .stale_while_revalidate = false});
  t.group->InitAllInBackground();
  executor->RunPending();
  REQUIRE(t.group->WaitUntilReady(Duration::zero()).ok());
  CHECK(t.group->TotalSize() == 3);
  t.clock->Advance(11 * kSec);
  t.group->RunPendingMaintenance();
  CHECK(t.group->TotalSize() == 0);
  CHECK(t.group->GetStats("users")->expirations == 2);
  CHECK(t.group->GetStats("admins")->expirations == 1);
}

TEST_CASE("Group: its maintenance thread drives the caches") {
  UsersTable table;
  table.Put(table.Row(1, "ann@x.io", 10));
  auto clock = std::make_shared<ManualClock>();
  RecordCacheGroup group({.ttl = 10 * kSec,
                          .stale_while_revalidate = false,
                          .clock = clock,
                          .maintenance_interval = std::chrono::milliseconds(1)});
  REQUIRE(group.Add("users", table.Source()).ok());
  REQUIRE(group.InitAll().ok());
  CHECK(group.TotalSize() == 1);
  clock->Advance(11 * kSec);
  // The expiry happens on the group's thread; wait for it without a timing assumption.
  while (group.GetStats("users")->expirations == 0) std::this_thread::yield();
  CHECK(group.TotalSize() == 0);
}

}  // namespace larder
