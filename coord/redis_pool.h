// RedisPool: up to RedisOptions::max_connections RedisConnections shared by concurrent callers.
//
// Thread safety: every method may be called from any thread. A caller holds one connection for
// the duration of With(), alone; connections are opened as concurrency needs them.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "larder/redis.h"
#include "larder/status.h"
#include "redis_connection.h"

namespace larder::coord {

class RedisPool {
 public:
  // Checks the options (InvalidArgument naming the field), then connects one connection and
  // PINGs the server, so a wrong address (Unavailable) or password (FailedPrecondition) is
  // reported here rather than at the first call.
  static Result<std::unique_ptr<RedisPool>> Open(const RedisOptions& options);

  RedisPool(const RedisPool&) = delete;
  RedisPool& operator=(const RedisPool&) = delete;

  // Runs fn(RedisConnection&) on an idle connection, opening one while fewer than
  // max_connections exist, else waiting for one to be given back. Returns what fn returns.
  template <typename Fn>
  auto With(Fn&& fn) {
    Lease lease(this);
    return std::forward<Fn>(fn)(*lease.connection);
  }

 private:
  struct Lease {
    explicit Lease(RedisPool* p)
        : pool(p), connection(p->Take()), was_connected(connection->connected()) {}
    ~Lease() {
      const bool lost_socket = was_connected && !connection->connected();
      pool->Give(std::move(connection), lost_socket);
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    RedisPool* pool;
    std::unique_ptr<RedisConnection> connection;
    bool was_connected;
  };

  explicit RedisPool(const RedisOptions& options) : options_(options) {}
  std::unique_ptr<RedisConnection> Take();
  // Takes a connection back. When it lost its socket during the lease, the idle ones close
  // theirs too: they most likely share its fate (a restarted server) and would each fail one
  // call finding out.
  void Give(std::unique_ptr<RedisConnection> connection, bool lost_socket);

  const RedisOptions options_;

  std::mutex mu_;
  std::condition_variable idle_cv_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;  // guarded by mu_; most recent last
  size_t opened_ = 0;                                   // guarded by mu_; idle or leased
};

}  // namespace larder::coord
