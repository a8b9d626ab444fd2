// users_demo: a RecordCache in front of an SQLite table of 100,000 users.
//
// Creates the table, loads it with AutoLoad (a unique index on email, a multi index on org_id),
// looks records up by id, email and org, fetches 1,000 emails in one call, follows an UPDATE
// through the change feed, serves an expired record stale while it reloads, exports the cache
// as JSON with expiry metadata, saves a snapshot in RocksDB and restarts warm from it, and
// prints the stats and the time each step took.
//
// Usage: users_demo [OUT_DIR]   (default build/demo; the database, users.json and snapshot/
// go there)
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "larder/record_cache.h"
#include "larder/sqlite_source.h"

using namespace std::chrono_literals;
using larder::FieldValue;

namespace {

constexpr int kUsers = 100'000;
constexpr int kOrgs = 1'000;

void Check(const larder::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "users_demo: %s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

// The demo doubles as a smoke test: a step that does not do what it shows fails the run.
void Expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "users_demo: expected %s\n", what);
    std::exit(1);
  }
}

class Stopwatch {
 public:
  double Millis() const {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
  }
  double NanosPer(size_t n) const { return Millis() * 1e6 / static_cast<double>(n); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

std::string Email(int id) { return "user" + std::to_string(id) + "@example.com"; }

// What a lookup found, copied out so that the lookup (and the records it pins) ends here.
struct Shown {
  std::string text;
  bool found = false;
  bool stale = false;
  larder::LookupOutcome outcome = larder::LookupOutcome::kNotLoaded;
};

Shown Show(larder::RecordLookup r) {
  Shown out;
  out.found = r.found();
  out.outcome = r.outcome();
  if (!r.ok()) {
    out.text = "error: " + r.status().ToString();
  } else if (r.outcome() == larder::LookupOutcome::kNotFound) {
    out.text = "not found";
  } else if (r.outcome() == larder::LookupOutcome::kNotLoaded) {
    out.text = "not loaded";
  } else {
    out.stale = r.record().stale();
    out.text = r.record().view().ToJson() + (out.stale ? "  (stale)" : "");
  }
  return out;
}

// The table: ids 1..100000, 100 users per org, all updated at the same instant.
void CreateTable(const std::string& db) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  Check(larder::SqliteSource::ExecuteScript(db, R"sql(
    CREATE TABLE users (
      id INTEGER PRIMARY KEY,
      email TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      org_id INTEGER NOT NULL,
      updatedAt DATETIME NOT NULL
    );
    WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 100000)
    INSERT INTO users SELECT i, 'user' || i || '@example.com', 'User ' || i, i % 1000,
                             '2026-01-01T00:00:00Z' FROM seq;
  )sql"), "creating the users table");
}

}  // namespace

int main(int argc, char** argv) {
  const std::filesystem::path out_dir = argc > 1 ? argv[1] : "build/demo";
  std::filesystem::create_directories(out_dir);
  const std::string db = (out_dir / "users.db").string();
  const Stopwatch total;

  Stopwatch step;
  CreateTable(db);
  std::printf("created %s with %d users in %.0f ms\n", db.c_str(), kUsers, step.Millis());

  // The primary key (id) comes from the table's schema. One IN (...) query takes up to 1,000
  // values, so the batch below is a single query.
  auto source = larder::SqliteSource::Open({.path = db, .table = "users", .max_batch = 1000});
  Check(source.status(), "opening the SQLite source");

  // The demo moves a manual clock (starting now) instead of waiting ten minutes for an expiry.
  auto clock = std::make_shared<larder::ManualClock>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count());
  const larder::RecordCacheOptions options{
      .key_fields = {{"email", true}, {"org_id", false}},
      .ttl = 10min,
      .stale_ttl = 1h,
      .clock = clock,
  };
  auto opened = larder::RecordCache::Open(*source, options);
  Check(opened.status(), "RecordCache::Open");
  std::unique_ptr<larder::RecordCache> cache = std::move(*opened);

  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> feed;
  auto listen = [&](larder::RecordEventType type) {
    return cache->Subscribe(
        [&](const larder::RecordEvent& ev) {
          std::lock_guard lock(mu);
          feed.push_back(std::string(larder::RecordEventTypeName(ev.type)) + " " +
                         (ev.record.valid() ? ev.record.ToJson() : std::string()));
          cv.notify_all();
        },
        larder::RecordEventBit(type));
  };
  larder::Subscription updates = listen(larder::RecordEventType::kItemUpdated);

  // 1. AutoLoad: attach the change feed, full sync, start the refresh timer.
  step = Stopwatch();
  Check(cache->AutoLoad(), "AutoLoad");
  const double load_ms = step.Millis();
  std::printf("AutoLoad: %zu records in %.0f ms (%.2f M rows/s)\n", cache->Size(), load_ms,
              static_cast<double>(cache->Size()) / load_ms / 1e3);

  // 2. Lookups by primary key, unique key and multi-valued key.
  std::printf("GetById(42)                      -> %s\n",
              Show(cache->GetById(FieldValue::Int64(42))).text.c_str());
  std::printf("GetByKey(email, user7@...)       -> %s\n",
              Show(cache->GetByKey("email", FieldValue::String(Email(7)))).text.c_str());
  const size_t org_count = cache->GetByKey("org_id", FieldValue::Int64(7)).count();
  std::printf("GetByKey(org_id, 7)              -> %zu users\n", org_count);
  Expect(org_count == kUsers / kOrgs, "100 users in org 7");
  std::printf("GetById(424242)                  -> %s\n",
              Show(cache->GetById(FieldValue::Int64(424242))).text.c_str());

  // Timed: 1M lookups of random ids and 1M of random emails, all from memory.
  std::mt19937_64 rng(42);
  std::vector<int64_t> ids(1 << 16);
  for (auto& id : ids) id = static_cast<int64_t>(rng() % kUsers) + 1;
  std::vector<std::string> emails(1 << 12);
  for (auto& e : emails) e = Email(static_cast<int>(rng() % kUsers) + 1);
  constexpr size_t kLookups = 1'000'000;
  size_t found = 0;
  step = Stopwatch();
  for (size_t i = 0; i < kLookups; ++i) {
    found += cache->GetById(FieldValue::Int64(ids[i & (ids.size() - 1)])).found();
  }
  const double by_id_ns = step.NanosPer(kLookups);
  step = Stopwatch();
  for (size_t i = 0; i < kLookups; ++i) {
    found += cache->GetByKey("email", FieldValue::String(emails[i & (emails.size() - 1)])).found();
  }
  const double by_email_ns = step.NanosPer(kLookups);
  Expect(found == 2 * kLookups, "every timed lookup to hit");
  std::printf("1M GetById: %.0f ns each; 1M GetByKey(email): %.0f ns each (%zu found)\n",
              by_id_ns, by_email_ns, found);

  // 3. GetManyByKey: 1,000 emails, half cached, half for users added behind the cache's back
  //    (another connection, so no change feed): the 500 misses cost one IN (...) query.
  Check(larder::SqliteSource::ExecuteScript(db, R"sql(
    WITH RECURSIVE seq(i) AS (SELECT 100001 UNION ALL SELECT i + 1 FROM seq WHERE i < 100500)
    INSERT INTO users SELECT i, 'user' || i || '@example.com', 'User ' || i, i % 1000,
                             '2026-01-02T00:00:00Z' FROM seq;
  )sql"), "adding users through another connection");
  std::vector<FieldValue> wanted;
  std::vector<std::string> wanted_text;
  for (int i = 0; i < 1000; ++i) wanted_text.push_back(Email(99'501 + i));  // 99501..100500
  for (const auto& e : wanted_text) wanted.push_back(FieldValue::String(e));
  const uint64_t loads_before = cache->GetStats().loads;
  step = Stopwatch();
  size_t many_found = 0;
  for (const auto& r : cache->GetManyByKey("email", wanted)) many_found += r.found();
  const double many_ms = step.Millis();
  const uint64_t many_loads = cache->GetStats().loads - loads_before;
  std::printf("GetManyByKey(1000 emails)        -> %zu found, %llu source query, %.1f ms\n",
              many_found, static_cast<unsigned long long>(many_loads), many_ms);
  Expect(many_found == 1000 && many_loads == 1, "1000 emails found with one query");

  // 4. An UPDATE through the source's connection reaches the cache through the change feed,
  //    indexes included: the old email no longer finds the user, the new one does.
  const std::vector<FieldValue> params = {FieldValue::String("ada@example.com"),
                                          FieldValue::Int64(42)};
  Check((*source)->Execute(
            "UPDATE users SET email = ?1, updatedAt = '2026-01-03T00:00:00Z' WHERE id = ?2",
            params),
        "UPDATE");
  {
    std::lock_guard lock(mu);
    Expect(feed.size() == 1, "one item_updated event from the change feed");
    for (const auto& f : feed) std::printf("change feed: %s\n", f.c_str());
    feed.clear();
  }
  const uint64_t loads_before_update = cache->GetStats().loads;
  const Shown ada = Show(cache->GetByKey("email", FieldValue::String("ada@example.com")));
  std::printf("GetByKey(email, ada@example.com) -> %s\n", ada.text.c_str());
  Expect(ada.found && cache->GetStats().loads == loads_before_update,
         "the new email served from memory");
  const Shown old = Show(cache->GetByKey("email", FieldValue::String(Email(42))));
  std::printf("GetByKey(email, user42@...)      -> %s\n", old.text.c_str());
  Expect(old.outcome == larder::LookupOutcome::kNotFound, "the old email to be gone");

  // 5. Eleven minutes later the ttl has passed: a lookup is answered at once from the stale
  //    copy while one background reload fetches the row; the next lookup is fresh.
  larder::Subscription reloads = listen(larder::RecordEventType::kRefreshedItem);
  clock->Advance(11min);
  const Shown stale = Show(cache->GetById(FieldValue::Int64(43)));
  std::printf("11 min later: GetById(43)        -> %s\n", stale.text.c_str());
  Expect(stale.found && stale.stale, "a stale answer after the ttl");
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 5s, [&] { return !feed.empty(); })) {
      std::fprintf(stderr, "users_demo: the background reload did not finish\n");
      return 1;
    }
    std::printf("background: %s\n", feed.front().c_str());
  }
  const Shown fresh = Show(cache->GetById(FieldValue::Int64(43)));
  std::printf("then: GetById(43)                -> %s\n", fresh.text.c_str());
  Expect(fresh.found && !fresh.stale, "a fresh answer after the reload");

  // A full sync brings every record back to fresh, without ever showing an empty cache.
  step = Stopwatch();
  Check(cache->Sync(), "Sync");
  std::printf("full Sync: %zu records in %.0f ms\n", cache->Size(), step.Millis());

  // 6. Export with expiry metadata.
  step = Stopwatch();
  const std::string json = cache->ToJson(true);
  const std::filesystem::path json_path = out_dir / "users.json";
  std::ofstream(json_path, std::ios::binary) << json;
  Expect(std::filesystem::file_size(json_path) == json.size(), "users.json written in full");
  std::printf("ToJson(true): %.1f MB in %.0f ms -> %s\n", static_cast<double>(json.size()) / 1e6,
              step.Millis(), json_path.c_str());

  // 7. A snapshot in RocksDB, and a warm restart from it: a second cache over the same table
  // answers from the snapshot without one query.
  step = Stopwatch();
  const std::string snapshot_dir = (out_dir / "snapshot").string();
  larder::Result<larder::SnapshotInfo> saved = cache->SaveSnapshot(snapshot_dir, {.keep_last = 3});
  Check(saved.status(), "SaveSnapshot");
  std::printf("SaveSnapshot: snapshot %llu, %llu records, %.1f MB in %.0f ms -> %s\n",
              static_cast<unsigned long long>(saved->id),
              static_cast<unsigned long long>(saved->entry_count),
              static_cast<double>(saved->byte_count) / 1e6, step.Millis(), snapshot_dir.c_str());
  {
    auto warm_opened = larder::RecordCache::Open(*source, options);
    Check(warm_opened.status(), "RecordCache::Open (warm)");
    std::unique_ptr<larder::RecordCache> warm = std::move(*warm_opened);
    step = Stopwatch();
    larder::Result<larder::LoadSnapshotResult> loaded = warm->LoadSnapshot(snapshot_dir);
    Check(loaded.status(), "LoadSnapshot");
    const double load_ms = step.Millis();
    const Shown by_email = Show(warm->GetByKey("email", FieldValue::String(Email(7))));
    Expect(loaded->loaded == saved->entry_count && by_email.found &&
               warm->GetStats().loads == 0,
           "a warm restart answers from the snapshot without querying the table");
    std::printf("LoadSnapshot into a new cache: %llu records in %.0f ms, indexes rebuilt; "
                "GetByKey(email) -> found, 0 queries\n",
                static_cast<unsigned long long>(loaded->loaded), load_ms);
  }

  // 8. Stats.
  const larder::RecordCacheStats st = cache->GetStats();
  std::printf("stats: %llu records, hits %llu, misses %llu, hit rate %.2f%%, stale hits %llu, "
              "loads %llu (slowest %.2f ms), syncs %llu, memory %.1f MB\n",
              static_cast<unsigned long long>(st.total), static_cast<unsigned long long>(st.hits),
              static_cast<unsigned long long>(st.misses), st.hit_rate,
              static_cast<unsigned long long>(st.stale_hits),
              static_cast<unsigned long long>(st.loads), static_cast<double>(st.max_load_nanos) / 1e6,
              static_cast<unsigned long long>(st.syncs), static_cast<double>(st.memory_bytes) / 1e6);
  for (const auto& [field, values] : st.by_key) {
    std::printf("  index %-8s %llu values\n", field.c_str(), static_cast<unsigned long long>(values));
  }
  std::printf("done in %.1f s\n", total.Millis() / 1e3);
  return 0;
}
