// Redis options: redis:// URLs and the REDIS_* environment variables, including their errors.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/redis.h"

namespace larder {
namespace {

bool Contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

// Sets the REDIS_* variables for one test and restores them afterwards.
class RedisEnvironment {
 public:
  RedisEnvironment() {
    for (const char* name : kNames) {
      const char* value = getenv(name);
      saved_.push_back(value != nullptr ? std::optional<std::string>(value) : std::nullopt);
      unsetenv(name);
    }
  }
  ~RedisEnvironment() {
    for (size_t i = 0; i < saved_.size(); ++i) {
      if (saved_[i]) {
        setenv(kNames[i], saved_[i]->c_str(), 1);
      } else {
        unsetenv(kNames[i]);
      }
    }
  }
  void Set(const char* name, const char* value) { setenv(name, value, 1); }

 private:
  static constexpr const char* kNames[] = {"REDIS_URL", "REDIS_HOST", "REDIS_PORT",
                                           "REDIS_PASSWORD"};
  std::vector<std::optional<std::string>> saved_;
};

}  // namespace

TEST_CASE("ParseRedisUrl: host, port, credentials and db") {
  Result<RedisOptions> o = ParseRedisUrl("redis://localhost:6379");
  REQUIRE(o.ok());
  CHECK(o->host == "localhost");
  CHECK(o->port == 6379);
  CHECK(o->password.empty());
  CHECK(o->username.empty());
  CHECK_FALSE(o->db.has_value());

  o = ParseRedisUrl("redis://:s3cret@cache.internal:6380/2");
  REQUIRE(o.ok());
  CHECK(o->host == "cache.internal");
  CHECK(o->port == 6380);
  CHECK(o->password == "s3cret");
  CHECK(o->username.empty());
  CHECK(o->db == 2u);

  o = ParseRedisUrl("redis://alice:p%40ss%25@10.0.0.5");
  REQUIRE(o.ok());
  CHECK(o->username == "alice");
  CHECK(o->password == "p@ss%");
  CHECK(o->host == "10.0.0.5");
  CHECK(o->port == 6379);

  // The last '@' ends the credentials: '@', ':', '/', '?' and '#' need no encoding.
  o = ParseRedisUrl("redis://:a@b:c/d?e#f@h:7000");
  REQUIRE(o.ok());
  CHECK(o->password == "a@b:c/d?e#f");
  CHECK(o->host == "h");
  CHECK(o->port == 7000);

  o = ParseRedisUrl("redis://[::1]:7001/0");
  REQUIRE(o.ok());
  CHECK(o->host == "::1");
  CHECK(o->port == 7001);
  CHECK(o->db == 0u);

  o = ParseRedisUrl("redis://");  // all defaults
  REQUIRE(o.ok());
  CHECK(o->host == "127.0.0.1");
  CHECK(o->port == 6379);
  o = ParseRedisUrl("redis://cache/");
  REQUIRE(o.ok());
  CHECK(o->host == "cache");
  CHECK_FALSE(o->db.has_value());
}

TEST_CASE("ParseRedisUrl: malformed URLs name the part at fault and never the password") {
  struct Case {
    std::string_view url;
    std::string_view says;
  };
  const Case cases[] = {
      {"localhost:6379", "redis://"},
      {"http://cache", "scheme"},
      {"rediss://cache", "TLS"},
      {"redis://cache:0", "port"},
      {"redis://cache:65536", "port"},
      {"redis://cache:abc", "got \"abc\""},
      {"redis://cache:", "port"},
      {"redis://cache/one", "db"},
      {"redis://cache?timeout=1", "query"},
      {"redis://::1:6379", "brackets"},
      {"redis://[::1", "']'"},
      {"redis://bob@cache", "a user needs a password"},
      {"redis://:hunter2%zz@cache", "password"},
      {"redis://:hunter2@cache:http", "port"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.url);
    Result<RedisOptions> o = ParseRedisUrl(c.url);
    REQUIRE_FALSE(o.ok());
    CHECK(o.status().IsInvalidArgument());
    CHECK(Contains(o.status().message(), c.says));
    CHECK_FALSE(Contains(o.status().message(), "hunter2"));
  }
}

TEST_CASE("RedisOptionsFromEnvironment: REDIS_URL wins, else REDIS_HOST/PORT/PASSWORD") {
  RedisEnvironment env;
  Result<RedisOptions> o = RedisOptionsFromEnvironment();
  REQUIRE(o.ok());
  CHECK(o->host == "127.0.0.1");
  CHECK(o->port == 6379);
  CHECK(o->password.empty());

  env.Set("REDIS_HOST", "redis.internal");
  env.Set("REDIS_PORT", "6390");
  env.Set("REDIS_PASSWORD", "secret");
  o = RedisOptionsFromEnvironment();
  REQUIRE(o.ok());
  CHECK(o->host == "redis.internal");
  CHECK(o->port == 6390);
  CHECK(o->password == "secret");

  env.Set("REDIS_URL", "");  // empty counts as unset
  CHECK(RedisOptionsFromEnvironment()->host == "redis.internal");

  env.Set("REDIS_URL", "redis://:other@url-host:7000/1");
  o = RedisOptionsFromEnvironment();
  REQUIRE(o.ok());
  CHECK(o->host == "url-host");
  CHECK(o->port == 7000);
  CHECK(o->password == "other");
  CHECK(o->db == 1u);
}

TEST_CASE("RedisOptionsFromEnvironment: a malformed variable is named with the problem") {
  RedisEnvironment env;
  env.Set("REDIS_PORT", "http");
  Result<RedisOptions> o = RedisOptionsFromEnvironment();
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().IsInvalidArgument());
  CHECK(o.status().message().starts_with("REDIS_PORT: "));
  CHECK(Contains(o.status().message(), "1 to 65535, got \"http\""));

  env.Set("REDIS_PORT", "6379");
  env.Set("REDIS_URL", "redis://:pw@host:99999");
  o = RedisOptionsFromEnvironment();
  REQUIRE_FALSE(o.ok());
  CHECK(o.status().IsInvalidArgument());
  CHECK(o.status().message().starts_with("REDIS_URL: port: "));
  CHECK(Contains(o.status().message(), "99999"));
}

}  // namespace larder
