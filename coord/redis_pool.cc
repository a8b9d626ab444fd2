// RedisPool: option checks, the first connection's PING, and lending connections out.
#include "redis_pool.h"

#include <fmt/format.h>

namespace larder::coord {
namespace {

Status CheckOptions(const RedisOptions& o) {
  if (o.host.empty()) return Status::InvalidArgument("host: must not be empty");
  if (o.port == 0) return Status::InvalidArgument("port: must be from 1 to 65535, got 0");
  if (o.connect_timeout.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("connect_timeout: must be positive, got {} ns", o.connect_timeout.count()));
  }
  if (o.command_timeout.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("command_timeout: must be positive, got {} ns", o.command_timeout.count()));
  }
  if (o.reconnect_backoff_min.count() < 0 || o.reconnect_backoff_max < o.reconnect_backoff_min) {
    return Status::InvalidArgument(fmt::format(
        "reconnect_backoff_min, reconnect_backoff_max: need 0 <= min <= max, got {} ns and {} ns",
        o.reconnect_backoff_min.count(), o.reconnect_backoff_max.count()));
  }
  if (o.max_connections == 0) return Status::InvalidArgument("max_connections: must be at least 1");
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<RedisPool>> RedisPool::Open(const RedisOptions& options) {
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  std::unique_ptr<RedisPool> pool(new RedisPool(options));
  Result<RedisReplyPtr> pong = pool->With([](RedisConnection& c) { return c.Command({"PING"}); });
  if (!pong.ok()) return std::move(pong).status();
  return pool;
}

std::unique_ptr<RedisConnection> RedisPool::Take() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<RedisConnection> c = std::move(idle_.back());
      idle_.pop_back();
      return c;
    }
    if (opened_ < options_.max_connections) {
      ++opened_;
      lock.unlock();  // constructing does not connect, but needs no lock either
      return std::make_unique<RedisConnection>(options_);
    }
    idle_cv_.wait(lock);
  }
}

void RedisPool::Give(std::unique_ptr<RedisConnection> connection, bool lost_socket) {
  {
    std::lock_guard lock(mu_);
    if (lost_socket) {
      for (std::unique_ptr<RedisConnection>& idle : idle_) idle->Disconnect();
    }
    idle_.push_back(std::move(connection));
  }
  idle_cv_.notify_one();
}

}  // namespace larder::coord
