// A throwaway redis-server for one test of a Redis-backed coord object, and a raw connection to
// look at or change what the object stored. Use:
//   RedisFixture redis;
//   if (!redis) return;  // redis-server is not installed: the test says so and is skipped
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "larder/redis.h"
#include "redis_server.h"

namespace larder::testing {

class RedisFixture {
 public:
  explicit RedisFixture(const std::string& password = {}) : server_(StartRedisForTest(password)) {}

  explicit operator bool() const { return server_ != nullptr; }
  RedisServer& server() { return *server_; }
  uint16_t port() const { return server_->port(); }
  RedisOptions options() const { return server_->options(); }

  // A raw connection, opened by the first call (the test fails when it cannot be).
  RawRedis& raw() {
    if (raw_ == nullptr) {
      raw_ = std::make_unique<RawRedis>(server_->port(), server_->password());
      REQUIRE(raw_->ok());
    }
    return *raw_;
  }

  // What the server does when the ttl of `key` passes.
  void ExpireNow(std::string_view key) {
    REQUIRE(raw().Int({"PEXPIREAT", key, "1"}) == 1);
    REQUIRE(raw().Int({"EXISTS", key}) == 0);
  }

 private:
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RawRedis> raw_;
};

}  // namespace larder::testing
