// The invalidation suite: pattern and tag invalidation, and the prefix index's write cost.
#include "invalidation_suite.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "larder/cache.h"
#include "redis_server.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

std::string Key(uint64_t group, uint64_t item) {
  return fmt::format("group:{}:item:{}", group, item);
}
std::string Tag(uint64_t group) { return fmt::format("tag:{}", group); }

std::unique_ptr<Cache> OpenCache(bool prefix_index, uint64_t keys) {
  CacheOptions o;
  o.prefix_index = prefix_index;
  o.expected_entries = keys;
  Result<std::unique_ptr<Cache>> c = Cache::Open(std::move(o));
  if (!c.ok()) throw std::runtime_error(c.status().ToString());
  return std::move(*c);
}

// Writes the keys of `group` (all groups when group == UINT64_MAX), tagged by group.
void Fill(Cache& cache, const InvalidationConfig& config, uint64_t group = UINT64_MAX) {
  const uint64_t per_group = config.keys / config.groups;
  for (uint64_t g = 0; g < config.groups; ++g) {
    if (group != UINT64_MAX && g != group) continue;
    const WriteOptions w{.tags = {Tag(g)}};
    for (uint64_t i = 0; i < per_group; ++i) {
      if (!cache.Set(Key(g, i), "value-of-16-byte", w).ok()) throw std::runtime_error("set");
    }
  }
}

// Times `op` over `reps` runs; `before` (untimed) prepares each run. op returns the count of
// keys it handled; the row's ops are keys per second.
ThroughputRow Measure(const char* system, const char* workload, int reps,
                      const std::function<void(int)>& before,
                      const std::function<uint64_t()>& op) {
  ThroughputRow row;
  row.system = system;
  row.workload = workload;
  row.threads = 1;
  row.reps = reps;
  std::vector<double> rates;
  for (int rep = 0; rep < reps; ++rep) {
    before(rep);
    const Clock::time_point start = Clock::now();
    const uint64_t n = op();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    if (n == 0) ++row.failed_ops;
    rates.push_back(static_cast<double>(n) / seconds);
  }
  SetRates(std::move(rates), &row);
  std::printf("  %-22s %-10s %12.0f keys/s\n", system, workload, row.ops_per_sec);
  return row;
}

void PatternCells(const InvalidationConfig& config, Results* results) {
  for (const bool indexed : {true, false}) {
    std::unique_ptr<Cache> cache = OpenCache(indexed, config.keys);
    Fill(*cache, config);
    uint64_t group = 0;
    results->invalidation.push_back(Measure(
        indexed ? "larder_prefix_index" : "larder_scan", "pattern", config.reps,
        [&](int rep) {
          group = static_cast<uint64_t>(rep) % config.groups;
          Fill(*cache, config, group);
        },
        [&] {
          Result<size_t> n = cache->InvalidatePattern(fmt::format("group:{}:*", group));
          return n.ok() ? *n : 0;
        }));
  }
}

// The same removal in Redis: SCAN MATCH over the keyspace, UNLINK what it returns.
void RedisPatternCell(const InvalidationConfig& config, Results* results) {
  std::string why;
  std::unique_ptr<RedisServer> server = RedisServer::Start(&why);
  if (server == nullptr) {
    std::printf("  redis: skipped (%s)\n", why.c_str());
    return;
  }
  redisContext* ctx = redisConnect("127.0.0.1", server->port());
  if (ctx == nullptr || ctx->err) throw std::runtime_error("redis: cannot connect");
  const uint64_t per_group = config.keys / config.groups;
  const auto fill_group = [&](uint64_t g) {
    for (uint64_t i = 0; i < per_group; ++i) {
      const std::string k = Key(g, i);
      redisAppendCommand(ctx, "SET %b value-of-16-byte", k.data(), k.size());
    }
    for (uint64_t i = 0; i < per_group; ++i) {
      void* reply = nullptr;
      if (redisGetReply(ctx, &reply) != REDIS_OK) throw std::runtime_error("redis: set");
      freeReplyObject(reply);
    }
  };
  for (uint64_t g = 0; g < config.groups; ++g) fill_group(g);
  uint64_t group = 0;
  results->invalidation.push_back(Measure(
      "redis_scan", "pattern", config.reps,
      [&](int rep) {
        group = static_cast<uint64_t>(rep) % config.groups;
        fill_group(group);
      },
      [&] {
        const std::string pattern = fmt::format("group:{}:*", group);
        uint64_t removed = 0;
        std::string cursor = "0";
        do {
          auto* r = static_cast<redisReply*>(redisCommand(
              ctx, "SCAN %s MATCH %b COUNT 1000", cursor.c_str(), pattern.data(), pattern.size()));
          if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            throw std::runtime_error("redis: scan");
          }
          cursor = r->element[0]->str;
          const redisReply* keys = r->element[1];
          if (keys->elements > 0) {
            std::vector<const char*> argv = {"UNLINK"};
            std::vector<size_t> lens = {6};
            for (size_t i = 0; i < keys->elements; ++i) {
              argv.push_back(keys->element[i]->str);
              lens.push_back(keys->element[i]->len);
            }
            auto* d = static_cast<redisReply*>(redisCommandArgv(
                ctx, static_cast<int>(argv.size()), argv.data(), lens.data()));
            if (d == nullptr) throw std::runtime_error("redis: unlink");
            removed += static_cast<uint64_t>(d->integer);
            freeReplyObject(d);
          }
          freeReplyObject(r);
        } while (cursor != "0");
        return removed;
      }));
  redisFree(ctx);
}

void TagCells(const InvalidationConfig& config, Results* results) {
  std::unique_ptr<Cache> cache = OpenCache(false, config.keys);
  Fill(*cache, config);
  const uint64_t per_group = config.keys / config.groups;
  uint64_t group = 0;
  const auto refill = [&](int rep) {
    group = static_cast<uint64_t>(rep) % config.groups;
    Fill(*cache, config, group);
  };
  results->invalidation.push_back(Measure("larder_tag", "tag", config.reps, refill,
                                          [&] { return cache->InvalidateByTag(Tag(group)); }));
  std::vector<std::string> keys;
  results->invalidation.push_back(Measure(
      "larder_delete", "tag", config.reps,
      [&](int rep) {
        refill(rep);
        keys.clear();
        for (uint64_t i = 0; i < per_group; ++i) keys.push_back(Key(group, i));
      },
      [&] {
        uint64_t n = 0;
        for (const std::string& k : keys) n += cache->Delete(k) ? 1 : 0;
        return n;
      }));
}

void SetCells(const InvalidationConfig& config, Results* results) {
  std::vector<std::string> keys;  // made up front: the loop times Set alone
  keys.reserve(config.keys);
  const uint64_t per_group = config.keys / config.groups;
  for (uint64_t i = 0; i < per_group; ++i) {
    for (uint64_t g = 0; g < config.groups; ++g) keys.push_back(Key(g, i));
  }
  for (const bool indexed : {false, true}) {
    std::unique_ptr<Cache> cache;
    results->invalidation.push_back(Measure(
        indexed ? "larder_prefix_index" : "larder", "set", config.reps,
        [&](int) { cache = OpenCache(indexed, config.keys); },
        [&] {
          for (const std::string& k : keys) {
            if (!cache->Set(k, "value-of-16-byte").ok()) return uint64_t{0};
          }
          return static_cast<uint64_t>(keys.size());
        }));
  }
}

}  // namespace

void RunInvalidationSuite(const InvalidationConfig& config, Results* results) {
  std::printf("invalidation: %llu keys in %llu groups, %d runs\n",
              static_cast<unsigned long long>(config.keys),
              static_cast<unsigned long long>(config.groups), config.reps);
  PatternCells(config, results);
  RedisPatternCell(config, results);
  TagCells(config, results);
  SetCells(config, results);
}

}  // namespace larder::bench
