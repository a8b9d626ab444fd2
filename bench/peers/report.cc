// Reporting: tables built from the result rows, and the JSON files.
#include "report.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <utility>

#include <nlohmann/json.hpp>

namespace larder::bench {
namespace {

std::string Format(const char* format, double v) {
  const int n = std::snprintf(nullptr, 0, format, v);
  std::string out(static_cast<size_t>(std::max(n, 0)), '\0');
  std::snprintf(out.data(), out.size() + 1, format, v);
  return out;
}

const ThroughputRow* Find(const Results& results, const std::string& system, const Mix& mix,
                          int threads) {
  for (const ThroughputRow& r : results.throughput) {
    if (r.system == system && r.workload == mix.name && r.threads == threads) return &r;
  }
  return nullptr;
}

bool HasData(const Results& results, const std::string& system) {
  for (const ThroughputRow& r : results.throughput) {
    if (r.system == system) return true;
  }
  return false;
}

// "41.23 ±1.2%": the median in Mops/s and half the min-max range relative to it.
std::string ThroughputCell(const ThroughputRow& r) {
  const double spread =
      r.ops_per_sec > 0 ? (r.ops_per_sec_max - r.ops_per_sec_min) / 2 / r.ops_per_sec * 100 : 0;
  return Format("%.2f", r.ops_per_sec / 1e6) +
         Format(spread < 10 ? " ±%.1f%%" : " ±%.0f%%", spread) + (r.noisy_reps > 0 ? " !" : "");
}

// One row per (mix, threads) with a cell per system from `cell`, "-" where nothing was measured.
template <typename CellFn>
void FillGrid(const ReportContext& context, const std::vector<std::string>& systems, CellFn cell,
              Table* table) {
  table->header = {"workload", "threads"};
  table->header.insert(table->header.end(), systems.begin(), systems.end());
  for (const Mix& mix : context.mixes) {
    for (int threads : context.thread_counts) {
      std::vector<std::string> row = {mix.name, std::to_string(threads)};
      bool any = false;
      for (const std::string& system : systems) {
        const std::optional<std::string> c = cell(system, mix, threads);
        any = any || c.has_value();
        row.push_back(c.value_or("-"));
      }
      if (any) table->rows.push_back(std::move(row));
    }
  }
}

const ThroughputRow* FindRecord(const Results& results, const std::string& system,
                                const std::string& workload, int threads) {
  for (const ThroughputRow& r : results.record) {
    if (r.system == system && r.workload == workload && r.threads == threads) return &r;
  }
  return nullptr;
}

// The record suite: larder beside SQLite (a bare scan for the sync, queries for lookups).
void AddRecordTables(const Results& results, const ReportContext& context,
                     std::vector<Table>* tables) {
  if (!results.record.empty()) {
    Table t;
    t.title = "Record cache over SQLite, 1M rows, 2 indexes: M records/s (bulk) or M lookups/s, "
              "median of " + std::to_string(context.reps) + " runs; ± is half the min-max range";
    t.header = {"workload", "threads", "larder", "sqlite", "sqlite is", "larder / sqlite"};
    struct Line {
      const char* workload;
      const char* sqlite;  // the SQLite system it is compared with, or null
    };
    const Line lines[] = {{"full_sync_1m", "sqlite_scan"}, {"to_json_1m", nullptr},
                          {"load_from_json_1m", nullptr},  {"get_by_id", "sqlite_query"},
                          {"get_by_key_unique", "sqlite_query"},
                          {"get_by_key_multi", "sqlite_query"}};
    for (const Line& line : lines) {
      for (int threads : context.thread_counts) {
        const ThroughputRow* l = FindRecord(results, "larder", line.workload, threads);
        const ThroughputRow* s =
            line.sqlite ? FindRecord(results, line.sqlite, line.workload, threads) : nullptr;
        if (l == nullptr) continue;
        t.rows.push_back({line.workload, std::to_string(threads), ThroughputCell(*l),
                          s ? ThroughputCell(*s) : "-", s ? line.sqlite : "-",
                          s && s->ops_per_sec > 0 ? Format("%.2fx", l->ops_per_sec / s->ops_per_sec)
                                                  : "-"});
      }
    }
    t.note = "Bulk workloads run on one thread. get_by_key_multi returns the 10 users of an org.";
    tables->push_back(std::move(t));
  }
  if (!results.record_memory.empty()) {
    Table t;
    t.title = "Record cache memory per record beyond its field bytes (two indexes)";
    t.header = {"system", "bytes/record", "records", "sync M records/s", "measured by"};
    for (const MemoryRow& m : results.record_memory) {
      t.rows.push_back({m.system, Format("%.1f", m.bytes_per_entry), std::to_string(m.entries),
                        Format("%.2f", m.fill_ops_per_sec / 1e6), m.source});
    }
    tables->push_back(std::move(t));
  }
}

// The snapshot suite: larder beside Redis's RDB, save and load rates and bytes on disk.
void AddSnapshotTables(const Results& results, std::vector<Table>* tables) {
  if (results.snapshot.empty()) return;
  Table t;
  t.title = "Snapshots: M entries/s saving and loading (median of the runs; ± is half the "
            "min-max range)";
  t.header = {"workload", "larder", "redis_rdb", "larder / redis"};
  for (const ThroughputRow& l : results.snapshot) {
    if (l.system != "larder") continue;
    const ThroughputRow* r = nullptr;
    for (const ThroughputRow& x : results.snapshot) {
      if (x.system == "redis_rdb" && x.workload == l.workload) r = &x;
    }
    t.rows.push_back({l.workload, ThroughputCell(l), r ? ThroughputCell(*r) : "-",
                      r && r->ops_per_sec > 0 ? Format("%.2fx", l.ops_per_sec / r->ops_per_sec)
                                              : "-"});
  }
  t.note = "larder: Cache::SaveSnapshot into an empty RocksDB directory, LoadSnapshot into an "
           "empty cache. redis_rdb: SAVE, and a restart timed from process start to the first "
           "PING answered after loading dump.rdb. Each is driven by one thread; larder's save also "
           "has RocksDB's background thread compressing and writing earlier batches.";
  tables->push_back(std::move(t));
  Table size;
  size.title = "Snapshot size on disk";
  size.header = {"system", "bytes/entry", "entries", "what"};
  for (const MemoryRow& m : results.snapshot_size) {
    size.rows.push_back(
        {m.system, Format("%.1f", m.bytes_per_entry), std::to_string(m.entries), m.source});
  }
  tables->push_back(std::move(size));
}

// The eviction suite: larder's policies beside RocksDB's LRUCache, inserts into full caches.
void AddEvictionTables(const Results& results, const ReportContext& context,
                       std::vector<Table>* tables) {
  if (results.eviction.empty()) return;
  const char* systems[] = {"larder", "larder_lru", "larder_s3fifo", "rocksdb_lru"};
  const auto find = [&](const char* system, int threads) -> const ThroughputRow* {
    for (const ThroughputRow& r : results.eviction) {
      if (r.system == system && r.threads == threads) return &r;
    }
    return nullptr;
  };
  Table t;
  t.title = "Eviction-heavy: M inserts/s of new keys into a full cache (median of the runs; ± is "
            "half the min-max range)";
  t.header = {"threads"};
  for (const char* s : systems) t.header.push_back(s);
  t.header.push_back("larder / larder_lru");
  t.header.push_back("larder / rocksdb_lru");
  for (int threads : context.thread_counts) {
    std::vector<std::string> row = {std::to_string(threads)};
    for (const char* s : systems) {
      const ThroughputRow* r = find(s, threads);
      row.push_back(r ? ThroughputCell(*r) : "-");
    }
    const ThroughputRow* l = find("larder", threads);
    for (const char* peer : {"larder_lru", "rocksdb_lru"}) {
      const ThroughputRow* p = find(peer, threads);
      row.push_back(l && p && p->ops_per_sec > 0 ? Format("%.2fx", l->ops_per_sec / p->ops_per_sec)
                                                 : "-");
    }
    t.rows.push_back(std::move(row));
  }
  t.note = "1M entries of 16-byte keys and values; every insert is a key never seen, so each one "
           "evicts. larder is W-TinyLFU (the default); RocksDB's LRUCache has 64 shards and "
           "charges 32 bytes per entry.";
  tables->push_back(std::move(t));
}

// The invalidation suite: time per call and ratios between the ways of removing the same keys.
void AddInvalidationTables(const Results& results, std::vector<Table>* tables) {
  if (results.invalidation.empty()) return;
  const auto find = [&](const char* system, const char* workload) -> const ThroughputRow* {
    for (const ThroughputRow& r : results.invalidation) {
      if (r.system == system && r.workload == workload) return &r;
    }
    return nullptr;
  };
  Table t;
  t.title = "Invalidation: 1M keys in 100 groups, removing one group (1%); median of the runs, "
            "min-max in brackets";
  t.header = {"what", "system", "time", "ns per key", "compared"};
  const ThroughputRow* base = find("larder_prefix_index", "pattern");
  const ThroughputRow* tag = find("larder_tag", "tag");
  const ThroughputRow* set_plain = find("larder", "set");
  struct Cell {
    const char* workload;
    const char* system;
    const char* what;
    const ThroughputRow* versus;
  };
  const Cell cells[] = {
      {"pattern", "larder_prefix_index", "InvalidatePattern(\"group:42:*\")", nullptr},
      {"pattern", "larder_scan", "the same, no prefix index", base},
      {"pattern", "redis_scan", "SCAN MATCH + UNLINK", base},
      {"tag", "larder_tag", "InvalidateByTag(\"tag:42\")", nullptr},
      {"tag", "larder_delete", "Delete of the same 10,000 keys", tag},
      {"set", "larder", "Set of 1M new keys", nullptr},
      {"set", "larder_prefix_index", "the same, with the prefix index", set_plain},
  };
  const uint64_t group = 10'000;
  for (const Cell& c : cells) {
    const ThroughputRow* r = find(c.system, c.workload);
    if (r == nullptr || r->ops_per_sec <= 0) continue;
    const bool per_call = std::string_view(c.workload) != "set";
    const auto ms = [&](double ops) { return 1e3 * static_cast<double>(group) / ops; };
    std::string time = per_call ? Format("%.2f ms", ms(r->ops_per_sec)) + " [" +
                                      Format("%.2f", ms(r->ops_per_sec_max)) + "-" +
                                      Format("%.2f", ms(r->ops_per_sec_min)) + "]"
                                : Format("%.2f s", 1e6 / r->ops_per_sec);
    std::string ratio = "-";
    if (c.versus != nullptr && c.versus->ops_per_sec > 0) {
      // How many times longer this way takes than the row it is compared with.
      ratio = Format("%.1fx slower", c.versus->ops_per_sec / r->ops_per_sec);
    }
    t.rows.push_back({c.what, c.system, time, Format("%.0f", 1e9 / r->ops_per_sec), ratio});
  }
  t.note = "Pattern rows: larder_scan and redis_scan are compared with the prefix index; the "
           "Delete row with InvalidateByTag; the indexed Set row with plain Set. Redis runs as a "
           "local server (loopback, SCAN COUNT 1000).";
  tables->push_back(std::move(t));
}

// "31.2k" or "6.05M" ops per second.
std::string Rate(double ops) {
  return ops >= 1e6 ? Format("%.2fM", ops / 1e6) : Format("%.1fk", ops / 1e3);
}

// The coordination suite: Redis-backed primitives beside hand-rolled commands and in process.
void AddCoordinationTables(const Results& results, std::vector<Table>* tables) {
  const auto find = [&](const char* system, const char* workload) -> const ThroughputRow* {
    for (const ThroughputRow& r : results.coordination) {
      if (r.system == system && r.workload == workload) return &r;
    }
    return nullptr;
  };
  if (!results.coordination.empty()) {
    Table t;
    t.title =
        "Coordination over a local Redis, one thread: ops/s (checks, or lock acquire + "
        "release pairs), median of the runs [min-max]";
    t.header = {"what", "system", "ops/s", "p50 / p99 us", "vs hand-rolled Redis"};
    struct Cell {
      const char* workload;
      const char* system;
      const char* what;
      const char* versus_workload;  // the hand-rolled row compared with, or null
      const char* versus_system;
    };
    const Cell cells[] = {
        {"rl_fixed", "larder_redis", "CheckRateLimit, fixed window", "rl_fixed", "redis_multi"},
        {"rl_fixed", "redis_multi", "MULTI INCR, PEXPIRE NX, EXEC", nullptr, nullptr},
        {"rl_fixed", "larder_local", "CheckRateLimit, in process", "rl_fixed", "redis_multi"},
        {"rl_fixed_refused", "larder_redis", "the same, refused", "rl_fixed", "redis_multi"},
        {"rl_fixed_refused", "larder_local", "the same, in process", "rl_fixed", "redis_multi"},
        {"rl_sliding", "larder_redis", "CheckRateLimit, sliding window", "rl_sliding",
         "redis_multi"},
        {"rl_sliding", "redis_multi", "MULTI ZREMRANGEBYSCORE, ZADD, ZCARD, PEXPIRE, EXEC", nullptr,
         nullptr},
        {"rl_sliding", "larder_local", "CheckRateLimit, in process", "rl_sliding", "redis_multi"},
        {"rl_sliding_refused", "larder_redis", "the same, refused", "rl_sliding", "redis_multi"},
        {"rl_sliding_refused", "larder_local", "the same, in process", "rl_sliding", "redis_multi"},
        {"lock", "larder_redis", "AcquireLock + ReleaseLock", "lock", "redis_set_del"},
        {"lock", "redis_set_del", "SET NX PX, then DEL", nullptr, nullptr},
        {"lock", "redis_set_evalsha", "SET NX PX, then EVALSHA compare-and-delete", "lock",
         "redis_set_del"},
        {"lock", "larder_local", "AcquireLock + ReleaseLock, in process", "lock", "redis_set_del"},
    };
    for (const Cell& c : cells) {
      const ThroughputRow* r = find(c.system, c.workload);
      if (r == nullptr || r->ops_per_sec <= 0) continue;
      const ThroughputRow* v =
          c.versus_system != nullptr ? find(c.versus_system, c.versus_workload) : nullptr;
      t.rows.push_back({c.what, c.system,
                        Rate(r->ops_per_sec) + " [" + Rate(r->ops_per_sec_min) + "-" +
                            Rate(r->ops_per_sec_max) + "]" + (r->noisy_reps > 0 ? " !" : ""),
                        Format("%.1f", r->p50_ns.value_or(0) / 1e3) + " / " +
                            Format("%.1f", r->p99_ns.value_or(0) / 1e3),
                        v != nullptr && v->ops_per_sec > 0
                            ? Format("%.2fx", r->ops_per_sec / v->ops_per_sec)
                            : "-"});
    }
    t.note =
        "Ratios divide ops/s by the hand-rolled row's (above 1 = faster). Admitted checks "
        "use a limit no run reaches and a 1 s window; refused ones a limit of 1. 1,000 keys "
        "in rotation. One op in 32 is timed for p50/p99. ! marks a cell where other "
        "processes took over 10% of the CPUs.";
    tables->push_back(std::move(t));
  }
  if (find("larder_l2", "l2_redis_hit") != nullptr) {
    Table t;
    t.title =
        "RedisL2 (Redis as a second level behind a Cache) over a local Redis, one thread, "
        "100-byte values: reads/s, median of the runs [min-max]";
    t.header = {"what", "system", "reads/s", "p50 / p99 us", "local hits", "vs GET"};
    struct Cell {
      const char* workload;
      const char* system;
      const char* what;
    };
    const Cell cells[] = {
        {"l2_local_hit", "larder_l2", "GetOrSet, held locally"},
        {"l2_local_hit", "larder_local", "Cache::Get, the same keys"},
        {"l2_redis_hit", "larder_l2", "GetOrSet, local miss answered by Redis"},
        {"l2_redis_hit", "redis_get", "GET (every read a round trip)"},
        {"l2_uniform_10pct", "larder_l2", "GetOrSet, uniform over 10x the local bound"},
        {"l2_uniform_10pct", "redis_get", "GET, the same keys"},
        {"l2_zipf_10pct", "larder_l2", "GetOrSet, Zipf 0.99 over 10x the local bound"},
        {"l2_zipf_10pct", "redis_get", "GET, the same keys"},
    };
    for (const Cell& c : cells) {
      const ThroughputRow* r = find(c.system, c.workload);
      if (r == nullptr || r->ops_per_sec <= 0) continue;
      const bool local_only = std::string_view(c.workload) == "l2_local_hit";
      const ThroughputRow* v = find("redis_get", local_only ? "l2_redis_hit" : c.workload);
      t.rows.push_back({c.what, c.system,
                        Rate(r->ops_per_sec) + " [" + Rate(r->ops_per_sec_min) + "-" +
                            Rate(r->ops_per_sec_max) + "]" + (r->noisy_reps > 0 ? " !" : ""),
                        Format("%.2f", r->p50_ns.value_or(0) / 1e3) + " / " +
                            Format("%.2f", r->p99_ns.value_or(0) / 1e3),
                        r->local_hit_share ? Format("%.1f%%", *r->local_hit_share * 100) : "-",
                        v != nullptr && v->ops_per_sec > 0 && r != v
                            ? Format("%.2fx", r->ops_per_sec / v->ops_per_sec)
                            : "-"});
    }
    t.note =
        "Ratios divide reads/s by plain GET's on the same keys (above 1 = faster). A Redis "
        "hit drops the local copy first (inside a RemoteScope, so Redis keeps it). The 10x "
        "cells: 100,000 keys in Redis, a local bound of 10,000 (W-TinyLFU); the local hit "
        "share is counted over 200,000 reads after the timed runs. No read reached the "
        "fetcher.";
    tables->push_back(std::move(t));
  }
  if (!results.propagation.empty()) {
    const LatencyRow* floor = nullptr;
    for (const LatencyRow& r : results.propagation) {
      if (r.system == "redis_pubsub") floor = &r;
    }
    Table t;
    t.title =
        "Invalidation propagation between two processes over a local Redis: one-way "
        "latency in us, median of the runs' percentiles [min-max]";
    t.header = {"what travels", "system", "p50", "p99", "max", "timed (lost)", "p50 vs PUBLISH"};
    for (const LatencyRow& r : results.propagation) {
      const char* what = r.workload == "set"           ? "Set of a key the other holds"
                         : r.workload == "pattern"     ? "InvalidatePattern(\"pat:<n>:*\")"
                         : r.system == "larder_pubsub" ? "PubSub::Publish -> handler"
                                                       : "PUBLISH -> SUBSCRIBE (hiredis)";
      t.rows.push_back({what, r.system,
                        Format("%.0f", r.p50_us) + " [" + Format("%.0f", r.p50_us_min) + "-" +
                            Format("%.0f", r.p50_us_max) + "]",
                        Format("%.0f", r.p99_us) + " [" + Format("%.0f", r.p99_us_min) + "-" +
                            Format("%.0f", r.p99_us_max) + "]",
                        Format("%.0f", r.max_us),
                        std::to_string(r.samples) + " (" + std::to_string(r.lost) + ")",
                        floor != nullptr && floor->p50_us > 0
                            ? Format("%.2fx", r.p50_us / floor->p50_us)
                            : "-"});
    }
    const LatencyRow& first = results.propagation.front();
    t.note =
        "From the sender's call to the receiver's cache listener (its PubSub handler, or "
        "its SUBSCRIBE socket), both stamped with CLOCK_MONOTONIC; one message every " +
        Format("%.0f", first.interval_us) + " us, the first " + std::to_string(first.warmup) +
        " of each run untimed.";
    tables->push_back(std::move(t));
  }
}

}  // namespace

std::vector<Table> BuildTables(const Results& results, const ReportContext& context) {
  std::vector<std::string> systems;
  for (const std::string& s : context.systems) {
    if (HasData(results, s)) systems.push_back(s);
  }
  std::vector<Table> tables;
  if (!systems.empty()) {
    Table t;
    t.title = "Throughput, Mops/s (median of " + std::to_string(context.reps) + " runs of " +
              Format("%.1f", context.seconds) + " s; ± is half the min-max range, % of median)";
    FillGrid(
        context, systems,
        [&](const std::string& s, const Mix& m, int th) -> std::optional<std::string> {
          const ThroughputRow* r = Find(results, s, m, th);
          if (r == nullptr) return std::nullopt;
          return ThroughputCell(*r);
        },
        &t);
    for (const ThroughputRow& r : results.throughput) {
      if (r.noisy_reps > 0) {
        t.note = Format(
            "! other processes took more than %.0f%% of the CPUs during a run, even "
            "after retries",
            kNoisyForeignShare * 100);
        break;
      }
    }
    tables.push_back(std::move(t));
  }

  std::vector<std::string> peers;
  for (const std::string& s : systems) {
    if (s != "larder") peers.push_back(s);
  }
  if (HasData(results, "larder") && !peers.empty()) {
    Table t;
    t.title = "larder / peer, median throughput (above 1 = larder faster)";
    FillGrid(
        context, peers,
        [&](const std::string& s, const Mix& m, int th) -> std::optional<std::string> {
          const ThroughputRow* l = Find(results, "larder", m, th);
          const ThroughputRow* p = Find(results, s, m, th);
          if (l == nullptr || p == nullptr || p->ops_per_sec <= 0) return std::nullopt;
          return Format("%.2fx", l->ops_per_sec / p->ops_per_sec);
        },
        &t);
    tables.push_back(std::move(t));
  }

  if (!results.memory.empty()) {
    Table t;
    t.title = "Memory per entry beyond the 32 bytes of key and value, after filling 1M entries";
    t.header = {"system", "bytes/entry", "entries", "fill Mops/s", "measured by"};
    for (const MemoryRow& m : results.memory) {
      t.rows.push_back({m.system, Format("%.1f", m.bytes_per_entry), std::to_string(m.entries),
                        Format("%.2f", m.fill_ops_per_sec / 1e6), m.source});
    }
    tables.push_back(std::move(t));
  }

  if (!systems.empty()) {
    Table t;
    t.title = "Latency p50 / p99, ns (1 op in 32 timed; reads and writes together)";
    FillGrid(
        context, systems,
        [&](const std::string& s, const Mix& m, int th) -> std::optional<std::string> {
          const ThroughputRow* r = Find(results, s, m, th);
          if (r == nullptr || !r->p50_ns || !r->p99_ns) return std::nullopt;
          return Format("%.0f", *r->p50_ns) + " / " + Format("%.0f", *r->p99_ns) +
                 (r->latency_unit == "op" ? "" : " *");
        },
        &t);
    for (const ThroughputRow& r : results.throughput) {
      if (r.latency_unit != "op") {
        t.note = "* " + r.system + ": round trip of one " + r.latency_unit +
                 ", not the latency of one op.";
        break;
      }
    }
    tables.push_back(std::move(t));
  }
  AddRecordTables(results, context, &tables);
  AddSnapshotTables(results, &tables);
  AddEvictionTables(results, context, &tables);
  AddInvalidationTables(results, &tables);
  AddCoordinationTables(results, &tables);
  return tables;
}

void WriteJsonFiles(const Results& results, const MachineInfo& machine,
                    const std::filesystem::path& out_dir) {
  nlohmann::json rows = nlohmann::json::array();
  const auto add = [&](const ThroughputRow& r, const char* suite) {
    nlohmann::json j = {{"suite", suite},
                        {"system", r.system},
                        {"workload", r.workload},
                        {"threads", r.threads},
                        {"ops_per_sec", r.ops_per_sec},
                        {"ops_per_sec_min", r.ops_per_sec_min},
                        {"ops_per_sec_max", r.ops_per_sec_max},
                        {"reps", r.reps},
                        {"failed_ops", r.failed_ops},
                        {"foreign_cpu_max", r.foreign_cpu_max},
                        {"noisy_reps", r.noisy_reps}};
    if (r.p50_ns) j["p50_ns"] = *r.p50_ns;
    if (r.p99_ns) j["p99_ns"] = *r.p99_ns;
    if (r.local_hit_share) j["local_hit_share"] = *r.local_hit_share;
    if (r.latency_unit != "op" && !r.latency_unit.empty()) j["latency_unit"] = r.latency_unit;
    rows.push_back(std::move(j));
  };
  for (const ThroughputRow& r : results.throughput) add(r, "throughput");
  for (const ThroughputRow& r : results.record) add(r, "record");
  for (const ThroughputRow& r : results.snapshot) add(r, "snapshot");
  for (const ThroughputRow& r : results.eviction) add(r, "eviction");
  for (const ThroughputRow& r : results.invalidation) add(r, "invalidation");
  for (const ThroughputRow& r : results.coordination) add(r, "coordination");
  for (const LatencyRow& r : results.propagation) {
    rows.push_back({{"suite", "coordination"},
                    {"system", r.system},
                    {"workload", "propagation_" + r.workload},
                    {"threads", 1},
                    {"reps", r.reps},
                    {"samples", r.samples},
                    {"lost", r.lost},
                    {"p50_us", r.p50_us},
                    {"p50_us_min", r.p50_us_min},
                    {"p50_us_max", r.p50_us_max},
                    {"p99_us", r.p99_us},
                    {"p99_us_min", r.p99_us_min},
                    {"p99_us_max", r.p99_us_max},
                    {"max_us", r.max_us}});
  }
  for (const MemoryRow& m : results.snapshot_size) {
    rows.push_back({{"suite", "snapshot"},
                    {"system", m.system},
                    {"workload", "size"},
                    {"threads", 1},
                    {"entries", m.entries},
                    {"bytes_per_entry", m.bytes_per_entry},
                    {"what", m.source}});
  }
  for (const MemoryRow& m : results.record_memory) {
    rows.push_back({{"suite", "record"},
                    {"system", m.system},
                    {"workload", "memory_per_record"},
                    {"threads", 1},
                    {"ops_per_sec", m.fill_ops_per_sec},
                    {"entries", m.entries},
                    {"bytes_per_record_beyond_fields", m.bytes_per_entry},
                    {"memory_source", m.source}});
  }
  for (const MemoryRow& m : results.memory) {
    rows.push_back({{"suite", "memory"},
                    {"system", m.system},
                    {"workload", "fill"},
                    {"threads", 1},
                    {"ops_per_sec", m.fill_ops_per_sec},
                    {"entries", m.entries},
                    {"bytes_per_entry", m.bytes_per_entry},
                    {"memory_source", m.source}});
  }
  const nlohmann::json machine_json = {
      {"cpu_model", machine.cpu_model}, {"cores", machine.cores}, {"kernel", machine.kernel},
      {"compiler", machine.compiler},   {"date", machine.date},   {"tsc_ghz", machine.tsc_ghz}};
  const std::pair<const char*, const nlohmann::json*> files[] = {{"results.json", &rows},
                                                                 {"machine.json", &machine_json}};
  for (const auto& [name, json] : files) {
    std::ofstream out(out_dir / name);
    out << json->dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + (out_dir / name).string());
  }
}

}  // namespace larder::bench
