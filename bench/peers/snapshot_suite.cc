// Snapshot save/load: larder (Cache::SaveSnapshot / LoadSnapshot into RocksDB) against Redis
// (SAVE, and a restart that loads dump.rdb). Keys and values are the ones Redis's
// DEBUG POPULATE makes: "<prefix>:<i>" and "value:<i>" padded with zero bytes to the size.
#include "snapshot_suite.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "larder/cache.h"
#include "redis_server.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr const char* kPrefix = "bench:ky";  // keys "bench:ky:<i>": 16 bytes for 7-digit i

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string KeyFor(uint64_t i) { return std::string(kPrefix) + ":" + std::to_string(i); }
std::string ValueFor(uint64_t i, size_t size) {
  std::string v = "value:" + std::to_string(i);
  if (v.size() < size) v.resize(size, '\0');
  return v;
}

uint64_t DirectoryBytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  for (const auto& f : std::filesystem::recursive_directory_iterator(dir)) {
    if (f.is_regular_file()) total += f.file_size();
  }
  return total;
}

ThroughputRow Row(const std::string& system, const std::string& workload, uint64_t entries,
                  const std::vector<double>& secs) {
  std::vector<double> rates;
  for (double s : secs) rates.push_back(static_cast<double>(entries) / s);
  std::sort(rates.begin(), rates.end());
  ThroughputRow r;
  r.system = system;
  r.workload = workload;
  r.threads = 1;
  r.reps = static_cast<int>(rates.size());
  r.ops_per_sec = rates[rates.size() / 2];
  r.ops_per_sec_min = rates.front();
  r.ops_per_sec_max = rates.back();
  return r;
}

// One hiredis connection; failures throw.
class Redis {
 public:
  explicit Redis(int port) : c_(redisConnect("127.0.0.1", port)) {
    if (c_ == nullptr || c_->err) throw std::runtime_error("cannot connect to redis-server");
  }
  ~Redis() { redisFree(c_); }
  // The reply as text ("" for non-string replies); errors are returned as "ERR...".
  std::string Command(const char* format, auto... args) {
    auto* reply = static_cast<redisReply*>(redisCommand(c_, format, args...));
    if (reply == nullptr) throw std::runtime_error("redis connection lost");
    std::string out;
    if (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_STRING ||
        reply->type == REDIS_REPLY_ERROR) {
      out.assign(reply->str, reply->len);
    } else if (reply->type == REDIS_REPLY_INTEGER) {
      out = std::to_string(reply->integer);
    }
    freeReplyObject(reply);
    return out;
  }

 private:
  redisContext* c_;
};

void RunLarder(const SnapshotConfig& config, size_t value_size, const std::string& label,
               Results* results) {
  const std::filesystem::path dir = config.work_dir / "larder-snapshot";
  std::vector<double> save_secs, load_secs;
  uint64_t stored_bytes = 0;
  {
    auto cache = *Cache::Open({.expected_entries = config.entries});
    auto t0 = Clock::now();
    for (uint64_t i = 0; i < config.entries; ++i) {
      if (!cache->Set(KeyFor(i), ValueFor(i, value_size)).ok()) throw std::runtime_error("Set");
    }
    std::printf("snapshot: larder filled %llu entries in %.1f s\n",
                static_cast<unsigned long long>(config.entries), Seconds(t0));
    for (int rep = 0; rep < config.reps; ++rep) {
      std::filesystem::remove_all(dir);
      t0 = Clock::now();
      Result<SnapshotInfo> saved = cache->SaveSnapshot(dir.string());
      save_secs.push_back(Seconds(t0));
      if (!saved.ok()) throw std::runtime_error(saved.status().ToString());
      if (saved->entry_count != config.entries) throw std::runtime_error("short snapshot");
      std::printf("snapshot: larder save_%s %.2f s\n", label.c_str(), save_secs.back());
    }
  }
  stored_bytes = DirectoryBytes(dir);
  for (int rep = 0; rep < config.reps; ++rep) {
    auto cache = *Cache::Open({.expected_entries = config.entries});
    const auto t0 = Clock::now();
    Result<LoadSnapshotResult> loaded = cache->LoadSnapshot(dir.string());
    load_secs.push_back(Seconds(t0));
    if (!loaded.ok()) throw std::runtime_error(loaded.status().ToString());
    if (loaded->loaded != config.entries) throw std::runtime_error("short load");
    std::printf("snapshot: larder load_%s %.2f s\n", label.c_str(), load_secs.back());
  }
  std::filesystem::remove_all(dir);
  results->snapshot.push_back(Row("larder", "save_" + label, config.entries, save_secs));
  results->snapshot.push_back(Row("larder", "load_" + label, config.entries, load_secs));
  results->snapshot_size.push_back(
      {"larder", config.entries,
       static_cast<double>(stored_bytes) / static_cast<double>(config.entries), 0,
       "snapshot directory " + label});
}

void RunRedis(const SnapshotConfig& config, size_t value_size, const std::string& label,
              Results* results) {
  const std::filesystem::path dir = config.work_dir / "redis-rdb";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::vector<std::string> args = {"--dir", dir.string(), "--dbfilename", "dump.rdb",
                                         "--enable-debug-command", "yes"};
  std::string why;
  std::vector<double> save_secs, load_secs;
  {
    std::unique_ptr<RedisServer> server = RedisServer::Start(&why, args);
    if (server == nullptr) {
      std::printf("snapshot: redis_rdb skipped: %s\n", why.c_str());
      return;
    }
    Redis redis(server->port());
    auto t0 = Clock::now();
    const std::string populated = redis.Command(
        "DEBUG POPULATE %llu %s %llu", static_cast<unsigned long long>(config.entries), kPrefix,
        static_cast<unsigned long long>(value_size));
    if (populated != "OK") throw std::runtime_error("DEBUG POPULATE: " + populated);
    if (redis.Command("DBSIZE") != std::to_string(config.entries)) {
      throw std::runtime_error("redis holds the wrong number of keys");
    }
    // The same bytes as larder's: check one key.
    if (redis.Command("GET %s", KeyFor(12345).c_str()) != ValueFor(12345, value_size)) {
      throw std::runtime_error("redis values differ from larder's");
    }
    std::printf("snapshot: redis filled %llu entries in %.1f s\n",
                static_cast<unsigned long long>(config.entries), Seconds(t0));
    for (int rep = 0; rep < config.reps; ++rep) {
      t0 = Clock::now();
      const std::string ok = redis.Command("SAVE");
      save_secs.push_back(Seconds(t0));
      if (ok != "OK") throw std::runtime_error("SAVE: " + ok);
      std::printf("snapshot: redis_rdb save_%s %.2f s\n", label.c_str(), save_secs.back());
    }
  }
  const uint64_t rdb_bytes = std::filesystem::file_size(dir / "dump.rdb");
  for (int rep = 0; rep < config.reps; ++rep) {
    // From the start of the process to the first command answered after loading.
    const auto t0 = Clock::now();
    std::unique_ptr<RedisServer> server = RedisServer::Start(&why, args);
    if (server == nullptr) throw std::runtime_error("redis restart: " + why);
    Redis redis(server->port());
    while (redis.Command("PING") != "PONG") std::this_thread::sleep_for(std::chrono::milliseconds(1));
    load_secs.push_back(Seconds(t0));
    if (redis.Command("DBSIZE") != std::to_string(config.entries)) {
      throw std::runtime_error("redis loaded the wrong number of keys");
    }
    std::printf("snapshot: redis_rdb load_%s %.2f s\n", label.c_str(), load_secs.back());
  }
  std::filesystem::remove_all(dir);
  results->snapshot.push_back(Row("redis_rdb", "save_" + label, config.entries, save_secs));
  results->snapshot.push_back(Row("redis_rdb", "load_" + label, config.entries, load_secs));
  results->snapshot_size.push_back(
      {"redis_rdb", config.entries,
       static_cast<double>(rdb_bytes) / static_cast<double>(config.entries), 0,
       "dump.rdb " + label});
}

}  // namespace

void RunSnapshotSuite(const SnapshotConfig& config, Results* results) {
  const std::string count = config.entries % 1'000'000 == 0
                                ? std::to_string(config.entries / 1'000'000) + "m"
                                : std::to_string(config.entries);
  for (const size_t value_size : {size_t{16}, size_t{100}}) {
    const std::string label = count + "_" + std::to_string(value_size) + "b";
    RunLarder(config, value_size, label, results);
    RunRedis(config, value_size, label, results);
  }
}

}  // namespace larder::bench
