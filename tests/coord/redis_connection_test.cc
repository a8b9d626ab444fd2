// Redis connections as callers see them through the Redis-backed services: AUTH, SELECT,
// refused connections, a restarted server, back-off, lost scripts and command timeouts.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "larder/coord.h"
#include "larder/redis.h"
#include "redis_server.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

std::string Server(uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

}  // namespace

TEST_CASE("Redis: AUTH with the password works; a missing or wrong one is a clear error") {
  auto server = testing::StartRedisForTest("s3cret-pw");
  if (server == nullptr) return;
  RedisOptions options = server->options();
  Result<std::unique_ptr<LockService>> locks = NewRedisLockService(options);
  REQUIRE(locks.ok());
  CHECK((*locks)->AcquireLock("k", kSec)->has_value());

  options.password.clear();
  Result<std::unique_ptr<RateLimiter>> none =
      NewRedisRateLimiter(RateLimitMode::kFixedWindow, options);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Status::Code::kFailedPrecondition);
  CHECK(Contains(none.status().message(), Server(server->port())));
  CHECK(Contains(none.status().message(), "NOAUTH"));

  options.password = "not-the-pw";
  Result<std::unique_ptr<LockService>> wrong = NewRedisLockService(options);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.status().code() == Status::Code::kFailedPrecondition);
  CHECK(Contains(wrong.status().message(), Server(server->port())));
  CHECK(Contains(wrong.status().message(), "AUTH"));
  CHECK_FALSE(Contains(wrong.status().message(), "not-the-pw"));

  // A password for a server that wants none is refused too, rather than ignored.
  auto open = testing::StartRedisForTest();
  REQUIRE(open != nullptr);
  options = open->options();
  options.password = "unneeded";
  CHECK(NewRedisLockService(options).status().code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("Redis: a refused connection is Unavailable and names host:port") {
  const uint16_t port = testing::UnusedLoopbackPort();
  REQUIRE(port != 0);
  RedisOptions options;
  options.port = port;
  Result<std::unique_ptr<RateLimiter>> limiter =
      NewRedisRateLimiter(RateLimitMode::kSlidingWindow, options);
  REQUIRE_FALSE(limiter.ok());
  CHECK(limiter.status().IsUnavailable());
  CHECK(Contains(limiter.status().message(), Server(port)));
  CHECK(NewRedisLockService(options).status().IsUnavailable());
}

TEST_CASE("Redis: options out of range are InvalidArgument naming the field") {
  RedisOptions options;
  options.host.clear();
  CHECK(Contains(NewRedisLockService(options).status().message(), "host"));
  options = RedisOptions();
  options.port = 0;
  CHECK(NewRedisLockService(options).status().IsInvalidArgument());
  options = RedisOptions();
  options.command_timeout = Duration::zero();
  CHECK(Contains(NewRedisLockService(options).status().message(), "command_timeout"));
  options = RedisOptions();
  options.max_connections = 0;
  CHECK(Contains(NewRedisLockService(options).status().message(), "max_connections"));
  options = RedisOptions();
  options.reconnect_backoff_max = std::chrono::milliseconds(1);
  CHECK(NewRedisLockService(options).status().IsInvalidArgument());
}

TEST_CASE("Redis: db selects the database; one the server lacks is refused") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions options = server->options();
  options.db = 3;
  Result<std::unique_ptr<LockService>> locks = NewRedisLockService(options);
  REQUIRE(locks.ok());
  REQUIRE((*locks)->AcquireLock("job", kSec)->has_value());
  testing::RawRedis raw(server->port());
  CHECK(raw.Int({"EXISTS", "larder:lock:job"}) == 0);
  CHECK(raw.Run({"SELECT", "3"}) == "OK");
  CHECK(raw.Int({"EXISTS", "larder:lock:job"}) == 1);

  options.db = 999;  // the server has 16
  Result<std::unique_ptr<LockService>> missing = NewRedisLockService(options);
  CHECK(missing.status().code() == Status::Code::kFailedPrecondition);
  CHECK(Contains(missing.status().message(), "SELECT"));
}

TEST_CASE("Redis: calls fail Unavailable while the server is down and work once it is back") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions options = server->options();
  options.reconnect_backoff_min = Duration::zero();  // reconnect at the next call
  options.reconnect_backoff_max = Duration::zero();
  auto clock = std::make_shared<ManualClock>();
  Result<std::unique_ptr<RateLimiter>> made =
      NewRedisRateLimiter(RateLimitMode::kSlidingWindow, options, {.clock = clock});
  REQUIRE(made.ok());
  RateLimiter& rl = **made;
  CHECK(rl.CheckRateLimit("k", 1, kSec)->allowed);
  CHECK_FALSE(rl.CheckRateLimit("k", 1, kSec)->allowed);

  server->Stop();
  for (int i = 0; i < 3; ++i) {  // the broken connection, then refused reconnections
    Result<RateLimitResult> r = rl.CheckRateLimit("k", 1, kSec);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().IsUnavailable());
    CHECK(Contains(r.status().message(), Server(server->port())));
  }
  std::string why;
  REQUIRE_MESSAGE(server->Restart(&why), why);
  // A new, empty server: the counts are gone and so is its script cache (EVALSHA answers
  // NOSCRIPT; the connection loads the script again).
  Result<RateLimitResult> r = rl.CheckRateLimit("k", 1, kSec);
  REQUIRE(r.ok());
  CHECK(r->allowed);

  testing::RawRedis raw(server->port());
  CHECK(raw.Run({"SCRIPT", "FLUSH"}) == "OK");
  r = rl.CheckRateLimit("k", 1, kSec);
  REQUIRE(r.ok());
  CHECK_FALSE(r->allowed);
}

TEST_CASE("Redis: after a failure, calls fail fast until the back-off has passed") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions options = server->options();
  options.max_connections = 1;
  options.reconnect_backoff_min = std::chrono::minutes(1);  // longer than the test
  options.reconnect_backoff_max = std::chrono::minutes(1);
  Result<std::unique_ptr<LockService>> made = NewRedisLockService(options);
  REQUIRE(made.ok());
  LockService& locks = **made;
  server->Stop();
  Result<std::optional<std::string>> first = locks.AcquireLock("k", kSec);
  CHECK(first.status().IsUnavailable());
  std::string why;
  REQUIRE_MESSAGE(server->Restart(&why), why);
  // The server is back, but the connection waits out its back-off and says so.
  Result<std::optional<std::string>> second = locks.AcquireLock("k", kSec);
  CHECK(second.status().IsUnavailable());
  CHECK(Contains(second.status().message(), "next attempt in"));
  CHECK(Contains(second.status().message(), Server(server->port())));
}

TEST_CASE("Redis: a command without a reply within command_timeout is Unavailable") {
  auto server = testing::StartRedisForTest();
  if (server == nullptr) return;
  RedisOptions options = server->options();
  options.command_timeout = std::chrono::milliseconds(100);
  options.reconnect_backoff_min = Duration::zero();
  Result<std::unique_ptr<LockService>> made = NewRedisLockService(options);
  REQUIRE(made.ok());
  LockService& locks = **made;
  testing::RawRedis raw(server->port());
  // Writes (SET NX) wait while clients are paused for writes; CLIENT UNPAUSE does not.
  REQUIRE(raw.Run({"CLIENT", "PAUSE", "20000", "WRITE"}) == "OK");
  Result<std::optional<std::string>> r = locks.AcquireLock("k", kSec);
  CHECK(r.status().IsUnavailable());
  CHECK(Contains(r.status().message(), "no reply within 100 ms"));
  REQUIRE(raw.Run({"CLIENT", "UNPAUSE"}) == "OK");
  r = locks.AcquireLock("k2", kSec);
  REQUIRE(r.ok());
  CHECK(r->has_value());
}

}  // namespace larder
