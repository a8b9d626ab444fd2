// RedisNamespace: the keys a Redis-backed second level keeps under one prefix, with the
// bookkeeping both levels (RedisL2 for caches, RedisRecordSource for record caches) share:
// counters, removal by pattern, and distrust after a removal Redis may have missed (the level is
// then bypassed until the whole namespace has been emptied).
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "larder/redis_l2.h"
#include "redis_connection.h"
#include "redis_pool.h"

namespace larder::coord {

// `text` matched literally inside a Redis glob.
std::string GlobEscape(std::string_view text);


class RedisNamespace {
 public:
  RedisNamespace(std::unique_ptr<RedisPool> pool, std::string ns);

  RedisPool& pool() { return *pool_; }
  const std::string& ns() const { return ns_; }

  // True when the level may be used: trusted, or emptied now after a missed removal. Counts a
  // bypass otherwise.
  bool Usable();
  // After a removal that failed: Redis may still hold what it named.
  void Distrust() { trusted_.store(false, std::memory_order_release); }
  // SCAN MATCH `match` and UNLINK every key found.
  Status ScanUnlink(const std::string& match);
  // UNLINK `key`.
  Status Unlink(std::string_view key);
  // Removes what `run` names (run returns its status); distrusts the level when it failed.
  template <typename Fn>
  void Remove(Fn&& run) {
    if (!Usable()) return;
    removals.fetch_add(1, std::memory_order_relaxed);
    if (!std::forward<Fn>(run)().ok()) Distrust();
  }
  // OK for a reply; counts an error otherwise.
  Status Check(Result<RedisReplyPtr> reply);
  // Counts the answer of a write script that returns 1 when it wrote and 0 when it refused (a
  // lease cancelled by a removal): a write, a refusal, or an error.
  void CountWrite(Result<RedisReplyPtr> reply);
  // A token unique to this namespace object for a lease: leases let a value loaded from the
  // source be written to Redis only if no removal of it happened meanwhile.
  std::string NewLeaseToken() {
    return token_prefix_ + std::to_string(next_token_.fetch_add(1, std::memory_order_relaxed));
  }
  RedisL2Stats Stats() const;

  std::atomic<uint64_t> hits{0}, misses{0}, writes{0}, removals{0}, errors{0}, bypassed{0},
      refused{0};

 private:
  std::unique_ptr<RedisPool> pool_;
  const std::string ns_;
  const std::string token_prefix_;  // random
  std::atomic<uint64_t> next_token_{0};
  std::atomic<bool> trusted_{true};
  std::mutex restore_mu_;  // one thread empties the namespace at a time
};

}  // namespace larder::coord
