// A child process for tests that must end a process (signals, SIGKILL mid-save). Tests start it
// with posix_spawn (tests/child_process.h), never plain fork: RocksDB's background threads do
// not survive a fork, and ThreadSanitizer refuses new threads after a multi-threaded fork.
//
//   process_child kv-sigterm DIR N      fill N entries, save a final snapshot on SIGTERM, raise it
//   process_child kv-save-loop DIR N    fill N entries, save snapshots forever (keep_last 3),
//                                       printing "saved ID" after each
//   process_child record-sigterm DB OUT a RecordCache over SQLite table `users` of DB; on SIGTERM
//                                       the exit hook writes its Size() to OUT; raise SIGTERM
//   process_child redis-rate-limit PORT MODE,KEY,LIMIT,WINDOW_S,NOW_S,TRIES
//                                       2 threads each make TRIES checks of KEY on a Redis
//                                       RateLimiter (MODE fixed or sliding) at the 127.0.0.1
//                                       server on PORT, with a ManualClock at NOW_S seconds
//                                       (NOW_S "server": the server's clock); print "allowed N"
//   process_child redis-lock PORT TRIES 2 threads each try TRIES times to take the Redis lock
//                                       "critical"; inside, they count themselves in the server's
//                                       "test:inside" and add 1 to "test:value" by GET and SET;
//                                       print "entered N overlaps M"
//   process_child backplane-write PORT KEY  an instance of the cache "users" on a backplane over
//                                       Redis: Set(KEY) and InvalidatePattern(KEY + ":*"), wait
//                                       until both are sent; print "sent N"
//   process_child record-update PORT DB,ID,NAME
//                                       an instance of the record cache "users" over the SQLite
//                                       file DB, on a backplane over Redis: UPDATE the row ID's
//                                       name to NAME through the source (its change feed tells
//                                       the cache), wait until sent; print "sent N"
//   process_child redis-publish PORT CHANNEL,COUNT
//                                       publish COUNT messages "0".."COUNT-1" on CHANNEL through a
//                                       Redis PubSub; print "receivers R" (the counts' sum)
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/coord.h"
#include "larder/record_cache.h"
#include "larder/redis.h"
#include "larder/sqlite_source.h"
#include "redis_server.h"

namespace {

// The value stored under key i; tests recompute it to check what they load.
std::string ValueFor(int i) { return "value-" + std::to_string(i * 7919) + std::string(i % 64, 'v'); }

[[noreturn]] void RaiseAndWait(int signo) {
  raise(signo);
  for (;;) pause();  // the signal's default action ends us
}

// Options for the Redis server on 127.0.0.1:PORT.
larder::RedisOptions RedisAt(const std::string& port) {
  larder::RedisOptions redis;
  redis.port = static_cast<uint16_t>(std::atoi(port.c_str()));
  return redis;
}

// Whether `r` holds a value; if not, prints its status on stderr.
template <typename T>
bool Ok(const larder::Result<T>& r) {
  if (!r.ok()) std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
  return r.ok();
}

int RecordSigterm(const std::string& db, const std::string& out) {
  auto source = larder::SqliteSource::Open({.path = db, .table = "users"});
  if (!source.ok()) return 3;
  auto cache = larder::RecordCache::Open(*source, {.key_fields = {{"email", true}}});
  if (!cache.ok() || !(*cache)->AutoLoad().ok()) return 3;
  for (int i = 0; i < 3; ++i) {  // installing again is harmless: the last hook counts
    (*cache)->HandleProcessSignals([&](larder::RecordCache& c) { std::ofstream(out) << c.Size(); });
  }
  RaiseAndWait(SIGTERM);
}

int RedisRateLimit(const std::string& port, const std::string& spec) {
  std::vector<std::string> f;
  std::stringstream in(spec);
  for (std::string part; std::getline(in, part, ',');) f.push_back(part);
  if (f.size() != 6) return 2;
  larder::RedisRateLimiterOptions options;
  if (f[4] != "server") {
    auto clock = std::make_shared<larder::ManualClock>();
    clock->Advance(std::chrono::seconds(std::atoll(f[4].c_str())));
    options.clock = clock;
  }
  const auto mode =
      f[0] == "fixed" ? larder::RateLimitMode::kFixedWindow : larder::RateLimitMode::kSlidingWindow;
  auto limiter = larder::NewRedisRateLimiter(mode, RedisAt(port), options);
  if (!Ok(limiter)) return 3;
  const uint64_t limit = std::strtoull(f[2].c_str(), nullptr, 10);
  const larder::Duration window = std::chrono::seconds(std::atoll(f[3].c_str()));
  const int tries = std::atoi(f[5].c_str());
  std::atomic<uint64_t> allowed{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < tries; ++i) {
        auto r = (*limiter)->CheckRateLimit(f[1], limit, window);
        if (!r.ok()) failed = true;
        if (r.ok() && r->allowed) ++allowed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failed) return 3;
  std::printf("allowed %llu\n", static_cast<unsigned long long>(allowed.load()));
  return 0;
}

int RedisLock(const std::string& port, const std::string& tries_text) {
  const larder::RedisOptions redis = RedisAt(port);
  auto locks = larder::NewRedisLockService(redis);
  if (!Ok(locks)) return 3;
  const int tries = std::atoi(tries_text.c_str());
  std::atomic<int> entered{0}, overlaps{0};
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      larder::testing::RawRedis raw(redis.port);
      if (!raw.ok()) failed = true;
      for (int i = 0; i < tries && !failed; ++i) {
        auto token = (*locks)->AcquireLock("critical", std::chrono::seconds(60));
        if (!token.ok()) failed = true;
        if (!token.ok() || !token->has_value()) continue;
        if (raw.Int({"INCR", "test:inside"}) != 1) ++overlaps;
        const long long value = std::atoll(raw.Run({"GET", "test:value"}).c_str());  // nil: 0
        (void)raw.Run({"SET", "test:value", std::to_string(value + 1)});
        if (raw.Int({"DECR", "test:inside"}) != 0) ++overlaps;
        ++entered;
        auto released = (*locks)->ReleaseLock("critical", **token);
        if (!released.ok() || !*released) failed = true;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  if (failed) return 3;
  std::printf("entered %d overlaps %d\n", entered.load(), overlaps.load());
  return 0;
}

int RedisPublish(const std::string& port, const std::string& spec) {
  const size_t comma = spec.rfind(',');
  if (comma == std::string::npos) return 2;
  const std::string channel = spec.substr(0, comma);
  const int count = std::atoi(spec.c_str() + comma + 1);
  auto pubsub = larder::NewRedisPubSub(RedisAt(port));
  if (!Ok(pubsub)) return 3;
  uint64_t receivers = 0;
  for (int i = 0; i < count; ++i) {
    auto n = (*pubsub)->Publish(channel, std::to_string(i));
    if (!Ok(n)) return 3;
    receivers += *n;
  }
  std::printf("receivers %llu\n", static_cast<unsigned long long>(receivers));
  return 0;
}

int BackplaneWrite(const std::string& port, const std::string& key) {
  auto cache = larder::Cache::Open({});
  if (!cache.ok()) return 3;
  auto plane = larder::Backplane::Connect(**cache, RedisAt(port), {.name = "users"});
  if (!Ok(plane)) return 3;
  if (!(*cache)->Set(key, "from another process").ok()) return 3;
  if (!(*cache)->InvalidatePattern(key + ":*").ok()) return 3;
  (*plane)->WaitUntilSent();
  std::printf("sent %llu\n", static_cast<unsigned long long>((*plane)->GetStats().published));
  return 0;
}

int RecordUpdate(const std::string& port, const std::string& spec) {
  std::istringstream in(spec);
  std::string db, id, name;
  if (!std::getline(in, db, ',') || !std::getline(in, id, ',') || !std::getline(in, name)) return 2;
  auto source = larder::SqliteSource::Open({.path = db, .table = "users"});
  if (!Ok(source)) return 3;
  auto cache = larder::RecordCache::Open(*source, {.maintenance_interval = larder::Duration::zero()});
  if (!Ok(cache) || !(*cache)->AttachHooks().ok()) return 3;
  auto plane = larder::Backplane::Connect(**cache, RedisAt(port), {});
  if (!Ok(plane)) return 3;
  const larder::FieldValue params[] = {larder::FieldValue::String(name),
                                       larder::FieldValue::Int64(std::atoll(id.c_str()))};
  if (!(*source)->Execute("UPDATE users SET name = ?1 WHERE id = ?2", params).ok()) return 3;
  (*plane)->WaitUntilSent();
  std::printf("sent %llu\n", static_cast<unsigned long long>((*plane)->GetStats().published));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: process_child MODE ARG ARG (see the top of the source)\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "record-sigterm") return RecordSigterm(argv[2], argv[3]);
  if (mode == "redis-rate-limit") return RedisRateLimit(argv[2], argv[3]);
  if (mode == "redis-lock") return RedisLock(argv[2], argv[3]);
  if (mode == "redis-publish") return RedisPublish(argv[2], argv[3]);
  if (mode == "backplane-write") return BackplaneWrite(argv[2], argv[3]);
  if (mode == "record-update") return RecordUpdate(argv[2], argv[3]);
  const std::string dir = argv[2];
  const int n = std::atoi(argv[3]);
  auto opened = larder::Cache::Open({});
  if (!opened.ok()) return 3;
  larder::Cache& cache = **opened;
  for (int i = 0; i < n; ++i) {
    if (!cache.Set("key:" + std::to_string(i), ValueFor(i)).ok()) return 3;
  }
  if (mode == "kv-sigterm") {
    for (int i = 0; i < 3; ++i) {  // installing again is harmless: the last hook counts
      cache.HandleProcessSignals([&](larder::Cache& c) {
        if (!c.SaveSnapshot(dir, {.name = "final"}).ok()) _exit(4);
      });
    }
    RaiseAndWait(SIGTERM);
  }
  if (mode == "kv-save-loop") {
    for (;;) {
      auto saved = cache.SaveSnapshot(dir, {.keep_last = 3});
      if (!saved.ok()) {
        std::fprintf(stderr, "%s\n", saved.status().ToString().c_str());
        return 5;
      }
      std::printf("saved %llu\n", static_cast<unsigned long long>(saved->id));
      std::fflush(stdout);
    }
  }
  return 2;
}
