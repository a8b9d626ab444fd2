// The Redis session store: every operation is one Lua script over the session's hash (expiring
// with PX), its user's id set and the deadline index.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "larder/coord.h"
#include "larder/redis.h"
#include "random_token.h"
#include "redis_connection.h"
#include "redis_pool.h"

namespace larder {
namespace {

using coord::RedisConnection;
using coord::RedisReplyPtr;
using coord::RedisScript;

// Key layout (P = the prefix): P.."s:"..id a hash {user, data, ttl} expiring with the session;
// P.."u:"..user the user's ids scored by creation order, expiring with the user's last session;
// P.."all" every id scored by its deadline (server milliseconds); P.."seq" the creation counter.
// Times are the server's (TIME), as PEXPIRE's are. Integers written back go through
// string.format('%d') so that Redis never sees an exponent.
#define LARDER_SESSION_LUA_PRELUDE                                                     \
  "local function int(x) return string.format('%d', x) end\n"                          \
  "local function now_ms()\n"                                                          \
  "  local t = redis.call('TIME')\n"                                                   \
  "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"               \
  "end\n"                                                                              \
  "local function keep_user(key, ttl)\n"                                               \
  "  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, int(ttl)) end\n" \
  "end\n"

// KEYS: the session, its user's set, the index, the counter. ARGV: user, data, ttl ms, id.
// Drops expired ids from the index first. Returns 1, or 0 when the id is taken (never, in
// practice: 128 random bits).
constexpr RedisScript kCreate{"session create", LARDER_SESSION_LUA_PRELUDE R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local ttl, now = tonumber(ARGV[3]), now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', int(now))
local order = redis.call('INCR', KEYS[4])
redis.call('HSET', KEYS[1], 'user', ARGV[1], 'data', ARGV[2], 'ttl', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], int(order), ARGV[4])
keep_user(KEYS[2], ttl)
redis.call('ZADD', KEYS[3], int(now + ttl), ARGV[4])
return 1
)lua"};

// A use (get or touch): moves the session's expiry, its user's set's if shorter, and its index
// deadline to now + ttl. KEYS: the session, the index. ARGV: the prefix, the id, "get" to read.
// Returns false (nil) for no live session; else {user, data, ttl ms} for "get", 1 otherwise.
constexpr RedisScript kUse{"session use", LARDER_SESSION_LUA_PRELUDE R"lua(
local h = redis.call('HMGET', KEYS[1], 'user', 'data', 'ttl')
if not h[1] then return false end
local ttl = tonumber(h[3])
redis.call('PEXPIRE', KEYS[1], h[3])
keep_user(ARGV[1] .. 'u:' .. h[1], ttl)
redis.call('ZADD', KEYS[2], int(now_ms() + ttl), ARGV[2])
if ARGV[3] == 'get' then return {h[1], h[2], h[3]} end
return 1
)lua"};

// KEYS: the session, the index. ARGV: the prefix, the id. Returns 1 when a live session ended.
constexpr RedisScript kDestroy{"session destroy", R"lua(
redis.call('ZREM', KEYS[2], ARGV[2])
local user = redis.call('HGET', KEYS[1], 'user')
if not user then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', ARGV[1] .. 'u:' .. user, ARGV[2])
return 1
)lua"};

// KEYS: the user's set. ARGV: the prefix. Drops ids whose session is gone (expired or ended
// elsewhere). Returns {id, data, ms left, ...} oldest first.
constexpr RedisScript kList{"session list", R"lua(
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local key = ARGV[1] .. 's:' .. id
  local data = redis.call('HGET', key, 'data')
  if data then
    out[#out + 1] = id
    out[#out + 1] = data
    out[#out + 1] = redis.call('PTTL', key)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
)lua"};

// KEYS: the user's set, the index. ARGV: the prefix. Ends every session of the user; returns how
// many were live (DEL does not count a key whose expiry has passed).
constexpr RedisScript kDestroyUser{"session destroy user", R"lua(
local live = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  live = live + redis.call('DEL', ARGV[1] .. 's:' .. id)
  redis.call('ZREM', KEYS[2], id)
end
redis.call('DEL', KEYS[1])
return live
)lua"};

#undef LARDER_SESSION_LUA_PRELUDE

// The longest ttl: what a Duration holds (about 292 years), so expires_in cannot overflow. Server
// deadlines (epoch ms + ttl, about 2^43) stay exact in Lua's doubles.
constexpr int64_t kMaxTtlMillis = Duration::max().count() / 1'000'000;

Status CheckUser(std::string_view user_id) {
  if (!user_id.empty()) return Status::OK();
  return Status::InvalidArgument("user_id: must not be empty");
}

// Whole milliseconds, rounded up: a session never expires before its ttl.
int64_t TtlMillis(Duration ttl) {
  const int64_t ns = ttl.count();
  return std::min(ns / 1'000'000 + (ns % 1'000'000 != 0 ? 1 : 0), kMaxTtlMillis);
}

std::string_view Text(const redisReply& r) { return std::string_view(r.str, r.len); }

Status Unexpected(const RedisConnection& c, const RedisScript& script, const redisReply& r) {
  return Status::Internal(
      fmt::format("redis {}: {}: unexpected reply (type {})", c.server(), script.name, r.type));
}

Result<int64_t> Integer(const RedisConnection& c, const RedisScript& script,
                        Result<RedisReplyPtr> reply) {
  if (!reply.ok()) return std::move(reply).status();
  if ((*reply)->type == REDIS_REPLY_INTEGER) return (*reply)->integer;
  return Unexpected(c, script, **reply);
}

class RedisSessionStore final : public SessionStore {
 public:
  RedisSessionStore(std::unique_ptr<coord::RedisPool> pool, RedisSessionOptions options)
      : pool_(std::move(pool)),
        prefix_(std::move(options.key_prefix)),
        index_(prefix_ + "all"),
        counter_(prefix_ + "seq") {}

  Result<std::string> CreateSession(std::string_view user_id, std::string_view data,
                                    Duration ttl) override {
    if (Status s = CheckUser(user_id); !s.ok()) return s;
    if (ttl.count() <= 0) {
      return Status::InvalidArgument(fmt::format("ttl: must be positive, got {} ns", ttl.count()));
    }
    const std::string millis = std::to_string(TtlMillis(ttl));
    const std::string user = UserKey(user_id);
    for (;;) {
      Result<std::string> id = coord::NewRandomToken();
      if (!id.ok()) return id.status();
      const std::string session = SessionKey(*id);
      const std::string_view keys[] = {session, user, index_, counter_};
      const std::string_view args[] = {user_id, data, millis, *id};
      Result<int64_t> made = pool_->With(
          [&](RedisConnection& c) { return Integer(c, kCreate, c.Eval(kCreate, keys, args)); });
      if (!made.ok()) return made.status();
      if (*made == 1) return id;
    }
  }

  Result<std::optional<Session>> GetSession(std::string_view session_id) override {
    const std::string session = SessionKey(session_id);
    const std::string_view keys[] = {session, index_};
    const std::string_view args[] = {prefix_, session_id, "get"};
    return pool_->With([&](RedisConnection& c) -> Result<std::optional<Session>> {
      Result<RedisReplyPtr> reply = c.Eval(kUse, keys, args);
      if (!reply.ok()) return std::move(reply).status();
      const redisReply& r = **reply;
      if (r.type == REDIS_REPLY_NIL) return std::optional<Session>();
      if (r.type != REDIS_REPLY_ARRAY || r.elements != 3) return Unexpected(c, kUse, r);
      Session out{std::string(session_id), std::string(Text(*r.element[0])),
                  std::string(Text(*r.element[1])),
                  std::chrono::milliseconds(
                      std::strtoll(std::string(Text(*r.element[2])).c_str(), nullptr, 10))};
      return std::optional<Session>(std::move(out));
    });
  }

  Result<bool> TouchSession(std::string_view session_id) override {
    const std::string session = SessionKey(session_id);
    const std::string_view keys[] = {session, index_};
    const std::string_view args[] = {prefix_, session_id, "touch"};
    return pool_->With([&](RedisConnection& c) -> Result<bool> {
      Result<RedisReplyPtr> reply = c.Eval(kUse, keys, args);
      if (!reply.ok()) return std::move(reply).status();
      if ((*reply)->type == REDIS_REPLY_NIL) return false;
      if ((*reply)->type == REDIS_REPLY_INTEGER) return true;
      return Unexpected(c, kUse, **reply);
    });
  }

  Result<bool> DestroySession(std::string_view session_id) override {
    const std::string session = SessionKey(session_id);
    const std::string_view keys[] = {session, index_};
    const std::string_view args[] = {prefix_, session_id};
    Result<int64_t> ended = pool_->With(
        [&](RedisConnection& c) { return Integer(c, kDestroy, c.Eval(kDestroy, keys, args)); });
    if (!ended.ok()) return ended.status();
    return *ended == 1;
  }

  Result<std::vector<Session>> ListUserSessions(std::string_view user_id) override {
    if (Status s = CheckUser(user_id); !s.ok()) return s;
    const std::string user = UserKey(user_id);
    const std::string_view keys[] = {user};
    const std::string_view args[] = {prefix_};
    return pool_->With([&](RedisConnection& c) -> Result<std::vector<Session>> {
      Result<RedisReplyPtr> reply = c.Eval(kList, keys, args);
      if (!reply.ok()) return std::move(reply).status();
      const redisReply& r = **reply;
      if (r.type != REDIS_REPLY_ARRAY || r.elements % 3 != 0) return Unexpected(c, kList, r);
      std::vector<Session> out;
      out.reserve(r.elements / 3);
      for (size_t i = 0; i < r.elements; i += 3) {
        if (r.element[i + 2]->type != REDIS_REPLY_INTEGER) return Unexpected(c, kList, r);
        // PTTL is -1 only for a key someone made persistent: report it as not expiring soon.
        const int64_t left = r.element[i + 2]->integer;
        out.push_back(
            Session{std::string(Text(*r.element[i])), std::string(user_id),
                    std::string(Text(*r.element[i + 1])),
                    left >= 0 ? Duration(std::chrono::milliseconds(left)) : Duration::max()});
      }
      return out;
    });
  }

  Result<uint64_t> DestroyUserSessions(std::string_view user_id) override {
    if (Status s = CheckUser(user_id); !s.ok()) return s;
    const std::string user = UserKey(user_id);
    const std::string_view keys[] = {user, index_};
    const std::string_view args[] = {prefix_};
    Result<int64_t> live = pool_->With([&](RedisConnection& c) {
      return Integer(c, kDestroyUser, c.Eval(kDestroyUser, keys, args));
    });
    if (!live.ok()) return live.status();
    return static_cast<uint64_t>(std::max<int64_t>(0, *live));
  }

  Result<uint64_t> ApproximateSize() override {
    return pool_->With([&](RedisConnection& c) -> Result<uint64_t> {
      Result<RedisReplyPtr> reply = c.Command({"ZCARD", index_});
      if (!reply.ok()) return std::move(reply).status();
      if ((*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer >= 0) {
        return static_cast<uint64_t>((*reply)->integer);
      }
      return Status::Internal(
          fmt::format("redis {}: ZCARD of the session index: unexpected "
                      "reply (type {})",
                      c.server(), (*reply)->type));
    });
  }

 private:
  std::string SessionKey(std::string_view id) const { return fmt::format("{}s:{}", prefix_, id); }
  std::string UserKey(std::string_view user) const { return fmt::format("{}u:{}", prefix_, user); }

  // Constant after construction.
  const std::unique_ptr<coord::RedisPool> pool_;
  const std::string prefix_;
  const std::string index_;    // prefix_ + "all"
  const std::string counter_;  // prefix_ + "seq"
};

}  // namespace

Result<std::unique_ptr<SessionStore>> NewRedisSessionStore(const RedisOptions& redis,
                                                           const RedisSessionOptions& options) {
  Result<std::unique_ptr<coord::RedisPool>> pool = coord::RedisPool::Open(redis);
  if (!pool.ok()) return std::move(pool).status();
  return std::unique_ptr<SessionStore>(
      std::make_unique<RedisSessionStore>(*std::move(pool), options));
}

}  // namespace larder
