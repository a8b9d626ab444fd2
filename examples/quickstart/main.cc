// quickstart: a tour of larder::Cache — TTL, GetOrSet, GetWithStale, eviction, events, stats.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#include "larder/cache.h"

using namespace std::chrono_literals;

namespace {

void Check(const larder::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

std::unique_ptr<larder::Cache> OpenOrDie(larder::CacheOptions options) {
  auto cache = larder::Cache::Open(std::move(options));
  Check(cache.status(), "Cache::Open");
  return std::move(*cache);
}

}  // namespace

int main() {
  auto cache = OpenOrDie({});

  // 1. Set and Get with a TTL. Get hands out a handle: zero-copy, pinned while alive.
  Check(cache->Set("companies:42", R"({"id":42,"name":"Acme"})", {.ttl = 300ms}), "Set");
  if (larder::ValueHandle h = cache->Get("companies:42")) {
    std::printf("get companies:42        -> %.*s\n", static_cast<int>(h.value().size()),
                h.value().data());
  }
  std::printf("ttl companies:42        -> %lld ms left\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                         cache->Ttl("companies:42").remaining.value_or(0ns))
                                         .count()));
  std::this_thread::sleep_for(350ms);
  std::printf("after 350 ms            -> %s\n", cache->Exists("companies:42") ? "hit" : "expired");

  // 2. GetOrSet: cache-aside with single flight. The fetcher runs once per cold key.
  int db_queries = 0;
  auto load_company = [&]() -> larder::Result<std::string> {
    ++db_queries;
    return std::string(R"({"id":7,"name":"Globex"})");
  };
  for (int i = 0; i < 3; ++i) {
    auto v = cache->GetOrSet("companies:7", load_company, {.ttl = 5min});
    Check(v.status(), "GetOrSet");
  }
  std::printf("getOrSet x3             -> %d database query\n", db_queries);

  // 3. GetWithStale: serve a stale value at once and refresh it in the background.
  // The refresh runs on a loader thread: the counter is atomic, and a kRefreshed event says
  // when the new value is in.
  std::atomic<int> version{0};
  auto load_list = [&]() -> larder::Result<std::string> {
    return "companies page 1, version " + std::to_string(++version);
  };
  std::mutex mu;
  std::condition_variable cv;
  bool refreshed = false;
  larder::Subscription on_refresh = cache->Subscribe(
      [&](const larder::CacheEvent&) {
        std::lock_guard lock(mu);
        refreshed = true;
        cv.notify_all();
      },
      larder::EventBit(larder::EventType::kRefreshed));
  auto first = cache->GetWithStale("companies:list:1", load_list, 200ms, 5s);
  std::printf("getWithStale (cold)     -> %s\n", first->c_str());
  std::this_thread::sleep_for(250ms);
  auto stale = cache->GetWithStale("companies:list:1", load_list, 200ms, 5s);
  std::printf("getWithStale (stale)    -> %s   (refresh started)\n", stale->c_str());
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, 5s, [&] { return refreshed; })) {
      std::fprintf(stderr, "quickstart: the background refresh did not finish\n");
      return 1;
    }
  }
  auto fresh = cache->GetWithStale("companies:list:1", load_list, 200ms, 5s);
  std::printf("getWithStale (fresh)    -> %s\n", fresh->c_str());

  // 4. A bounded cache evicts its least recently used entry, and says so.
  auto small = OpenOrDie({.max_entries = 3, .num_shards = 1});
  larder::Subscription sub = small->Subscribe(
      [](const larder::CacheEvent& ev) {
        std::printf("event %-8s         -> key %.*s (%s)\n",
                    std::string(larder::EventTypeName(ev.type)).c_str(),
                    static_cast<int>(ev.key.size()), ev.key.data(),
                    std::string(larder::RemovalCauseName(ev.cause)).c_str());
      },
      larder::EventBit(larder::EventType::kEvicted));
  for (const char* k : {"a", "b", "c"}) Check(small->Set(k, "v"), "Set");
  (void)small->Get("a");  // "a" is now more recent than "b"
  Check(small->Set("d", "v"), "Set");

  // 5. Stats.
  const larder::CacheStats st = cache->GetStats();
  std::printf(
      "stats: entries %llu, hits %llu, misses %llu, hit rate %.2f, loads %llu, "
      "stale served %llu, expirations %llu\n",
      static_cast<unsigned long long>(st.entries), static_cast<unsigned long long>(st.hits),
      static_cast<unsigned long long>(st.misses), st.hit_rate,
      static_cast<unsigned long long>(st.loads), static_cast<unsigned long long>(st.stale_served),
      static_cast<unsigned long long>(st.expirations));
  const larder::CacheStats small_st = small->GetStats();
  std::printf("bounded cache: entries %llu of max %llu, evictions %llu\n",
              static_cast<unsigned long long>(small_st.entries),
              static_cast<unsigned long long>(small_st.max_entries),
              static_cast<unsigned long long>(small_st.evictions));
  return 0;
}
