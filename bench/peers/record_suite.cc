// The record suite: the table, bulk measurements, lookups and the memory child.
#include "record_suite.h"

#include <malloc.h>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "cpu_meter.h"
#include "larder/record_cache.h"
#include "larder/sqlite_source.h"
#include "memory.h"
#include "process.h"
#include "record_peers.h"
#include "runner.h"
#include "suite.h"
#include "workload.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kRows = kKeyCount;  // lookups reuse the throughput suite's 1M-key streams
constexpr uint64_t kLookupSeed = 0x7265636f;  // + thread index

void Require(const Status& s, const std::string& what) {
  if (!s.ok()) throw std::runtime_error(what + ": " + s.ToString());
}

// users(id, email UNIQUE, name, org_id indexed, updatedAt as ISO 8601 text, one second apart).
void BuildTable(const std::string& path) {
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  Require(SqliteSource::ExecuteScript(path, fmt::format(R"sql(
    CREATE TABLE users (
      id INTEGER PRIMARY KEY,
      email TEXT NOT NULL UNIQUE,
      name TEXT NOT NULL,
      org_id INTEGER NOT NULL,
      updatedAt DATETIME NOT NULL
    );
    CREATE INDEX users_org_id ON users(org_id);
    WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < {rows})
    INSERT INTO users
      SELECT i, 'user' || i || '@example.com', 'User ' || i, i % {orgs},
             strftime('%Y-%m-%dT%H:%M:%fZ', 1767225600 + i, 'unixepoch')
      FROM seq;
  )sql", fmt::arg("rows", kRows), fmt::arg("orgs", RecordOrgCount(kRows)))),
          "building " + path);
}

RecordCacheOptions CacheOptionsForBench() {
  RecordCacheOptions o;
  o.key_fields = {{"email", true}, {"org_id", false}};
  o.ttl = std::chrono::hours(1);
  o.refresh_interval = Duration::zero();  // only the syncs the suite runs
  return o;
}

std::unique_ptr<RecordCache> OpenCache(const std::string& db) {
  Result<std::shared_ptr<SqliteSource>> source = SqliteSource::Open({.path = db, .table = "users"});
  Require(source.status(), "opening " + db);
  Result<std::unique_ptr<RecordCache>> cache = RecordCache::Open(*source, CacheOptionsForBench());
  Require(cache.status(), "opening the record cache");
  return std::move(*cache);
}

// A bare scan: every row and column of the table through the sqlite3 API, nothing kept.
uint64_t ScanTable(const std::string& db, uint64_t* checksum) {
  sqlite3* handle = nullptr;
  if (sqlite3_open_v2(db.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(handle);
    throw std::runtime_error("sqlite: cannot open " + db);
  }
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(handle, "SELECT id, email, name, org_id, updatedAt FROM users", -1, &stmt,
                     nullptr);
  uint64_t rows = 0;
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    *checksum += static_cast<uint64_t>(sqlite3_column_int64(stmt, 0)) +
                 static_cast<uint64_t>(sqlite3_column_int64(stmt, 3));
    for (int c : {1, 2, 4}) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      *checksum += static_cast<uint64_t>(sqlite3_column_bytes(stmt, c)) + (text ? text[0] : 0);
    }
    ++rows;
  }
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
  return rows;
}

// Times `body` (which returns the records it handled) `reps` times into one row.
ThroughputRow TimeBulk(const std::string& system, const std::string& workload, int reps,
                       const std::function<uint64_t()>& body) {
  std::vector<double> rates;
  ThroughputRow row;
  row.system = system;
  row.workload = workload;
  row.threads = 1;
  row.reps = reps;
  for (int rep = 0; rep < reps; ++rep) {
    const ForeignCpuMeter meter({});
    const Clock::time_point start = Clock::now();
    const uint64_t records = body();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (records != kRows) {
      throw std::runtime_error(fmt::format("{} {}: {} records, expected {}", system, workload,
                                           records, kRows));
    }
    const double foreign = meter.ForeignShare();
    row.foreign_cpu_max = std::max(row.foreign_cpu_max, foreign);
    if (foreign > kNoisyForeignShare) ++row.noisy_reps;
    rates.push_back(static_cast<double>(records) / seconds);
  }
  SetRates(std::move(rates), &row);
  std::printf("  %-12s %-18s %8.3f M records/s  [%.3f .. %.3f]\n", system.c_str(),
              workload.c_str(), row.ops_per_sec / 1e6, row.ops_per_sec_min / 1e6,
              row.ops_per_sec_max / 1e6);
  std::fflush(stdout);
  return row;
}

void RunBulk(const RecordConfig& config, const std::string& db, Results* results,
             std::unique_ptr<RecordCache>* loaded) {
  uint64_t checksum = 0;
  results->record.push_back(TimeBulk("sqlite_scan", "full_sync_1m", config.reps,
                                     [&] { return ScanTable(db, &checksum); }));
  results->record.push_back(TimeBulk("larder", "full_sync_1m", config.reps, [&] {
    loaded->reset();  // one cache of 1M records alive at a time
    std::unique_ptr<RecordCache> cache = OpenCache(db);
    Require(cache->Sync(), "full sync");
    const uint64_t n = cache->Size();
    *loaded = std::move(cache);
    return n;
  }));
  std::string json;
  results->record.push_back(TimeBulk("larder", "to_json_1m", config.reps, [&] {
    json = (*loaded)->ToJson(true);
    return (*loaded)->Size();
  }));
  results->record.push_back(TimeBulk("larder", "load_from_json_1m", config.reps, [&] {
    std::unique_ptr<RecordCache> cache = OpenCache(db);
    Require(cache->LoadFromJson(json, true), "LoadFromJson");
    return cache->Size();
  }));
  std::printf("  scan checksum %016llx\n", static_cast<unsigned long long>(checksum));
}

void RunLookups(const RecordConfig& config, const std::string& db, RecordCache* cache,
                const TscCalibration& tsc, Results* results) {
  std::vector<std::string> emails(kRows);
  for (size_t i = 0; i < kRows; ++i) emails[i] = RecordEmail(static_cast<int64_t>(i) + 1);
  const int max_threads = *std::max_element(config.thread_counts.begin(), config.thread_counts.end());
  const ScrambledZipf zipf(kRows, kZipfTheta);
  std::vector<std::vector<uint32_t>> keys;
  for (int t = 0; t < max_threads; ++t) keys.push_back(MakeKeyStream(zipf, kLookupSeed + t));
  const std::vector<uint8_t> reads_only(kStreamLength, 0);
  const std::vector<int> cpus = AllowedCpus();
  uint64_t checksum = 0;
  for (LookupKind kind : {LookupKind::kById, LookupKind::kByUniqueKey, LookupKind::kByMultiKey}) {
    const std::pair<const char*, std::unique_ptr<Peer>> systems[] = {
        {"larder", MakeRecordCachePeer(cache, kind, &emails, kRows)},
        {"sqlite_query", MakeSqliteQueryPeer(db, kind, &emails, kRows)},
    };
    for (const auto& [system, peer] : systems) {
      for (int threads : config.thread_counts) {
        std::vector<OpStream> streams;
        for (int t = 0; t < threads; ++t) streams.push_back({keys[t], reads_only});
        results->record.push_back(MeasureThroughput(*peer, system, LookupWorkloadName(kind),
                                                    streams, config.seconds, config.reps, cpus,
                                                    tsc, &checksum));
        PrintThroughputRow(results->record.back());
      }
    }
  }
  std::printf("  lookup checksum %016llx\n", static_cast<unsigned long long>(checksum));
}

void RunMemory(const std::string& db, Results* results) {
  std::string output;
  const int status = RunProcess({SelfExecutable(), "--record-memory-child", db}, &output);
  std::map<std::string, double> f = ParseFields(output);
  if (status != 0 || f["records"] <= 0) {
    std::printf("record memory: the child failed (exit %d): %s\n", status, output.c_str());
    return;
  }
  MemoryRow row;
  row.system = "larder";
  row.entries = static_cast<uint64_t>(f["records"]);
  row.bytes_per_entry = (f["rss_after"] - f["rss_before"] - f["field_bytes"]) / f["records"];
  row.fill_ops_per_sec = f["sync_seconds"] > 0 ? f["records"] / f["sync_seconds"] : 0;
  row.source = "rss";
  std::printf("  memory: %.1f bytes/record beyond %.1f field bytes (rss; the cache's own weight "
              "estimate %.1f bytes/record in all)\n",
              row.bytes_per_entry, f["field_bytes"] / f["records"], f["reported"] / f["records"]);
  std::fflush(stdout);
  results->record_memory.push_back(row);
}

}  // namespace

void RunRecordSuite(const RecordConfig& config, const TscCalibration& tsc, Results* results) {
  std::filesystem::create_directories(config.work_dir);
  const std::string db = (config.work_dir / "record_users.db").string();
  std::printf("record: building %s (%zu users, 2 indexes)\n", db.c_str(), kRows);
  std::fflush(stdout);
  BuildTable(db);
  std::unique_ptr<RecordCache> loaded;
  RunBulk(config, db, results, &loaded);
  RunLookups(config, db, loaded.get(), tsc, results);
  loaded.reset();
  RunMemory(db, results);
}

int RecordMemoryChildMain(const std::string& db_path) {
  // Field bytes: 8 for each of id, org_id and updatedAt, and the bytes of the two strings.
  sqlite3* handle = nullptr;
  sqlite3_stmt* stmt = nullptr;
  double field_bytes = 0;
  if (sqlite3_open_v2(db_path.c_str(), &handle, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(handle,
                         "SELECT sum(24 + length(CAST(email AS BLOB)) + length(CAST(name AS BLOB)))"
                         " FROM users", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    field_bytes = sqlite3_column_double(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(handle);
  std::unique_ptr<RecordCache> cache = OpenCache(db_path);
  malloc_trim(0);
  const uint64_t rss_before = RssBytes();
  const Clock::time_point start = Clock::now();
  Require(cache->Sync(), "full sync");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  cache->RunPendingMaintenance();  // as the maintenance thread would next: reclaim, trim slabs
  malloc_trim(0);  // the rows the sync read and freed are not the cache's
  const uint64_t rss_after = RssBytes();
  std::printf("records=%zu rss_before=%llu rss_after=%llu field_bytes=%.0f reported=%llu "
              "sync_seconds=%.6f\n",
              cache->Size(), static_cast<unsigned long long>(rss_before),
              static_cast<unsigned long long>(rss_after), field_bytes,
              static_cast<unsigned long long>(cache->GetStats().memory_bytes), seconds);
  return 0;
}

}  // namespace larder::bench
