// RedisL2: reads through Redis on a local miss, writes values to it with their ttl and tags, and
// removes from it what this instance invalidates (see larder/redis_l2.h).
#include "larder/redis_l2.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backplane_target.h"
#include "redis_connection.h"
#include "redis_l2_impl.h"
#include "redis_pool.h"

namespace larder {
namespace {

using coord::BackplaneKind;
using coord::RedisConnection;
using coord::RedisReplyPtr;
using coord::RedisScript;

// The value and the milliseconds it has left (-1: no expiry); on a miss 1 when the lease was
// taken for this load, 0 when another load holds a live one. A lease is "<token> <generation>";
// one taken before the last pattern or tag removal is dead and replaced.
// KEYS: data key, lease, generation; ARGV: token, lease ms.
constexpr RedisScript kRead{"l2 read", R"lua(
local v = redis.call('GET', KEYS[1])
if v then return {v, redis.call('PTTL', KEYS[1])} end
local g = redis.call('GET', KEYS[3]) or '0'
local held = redis.call('GET', KEYS[2])
if held and string.match(held, ' (%S+)$') == g then return 0 end
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. g, 'PX', ARGV[2])
return 1
)lua"};

// Stores the value with its ttl (ms; 0 = none) and adds the key to each tag's set, whose own
// expiry is kept at least as long as its members'. With a token, only while the lease it took
// is still there and of the current generation (returns 0 otherwise); the lease is removed
// either way, so older loads cannot write after this. KEYS: data key, lease, generation, tag
// sets; ARGV: value, ttl, token ('' = unconditional).
constexpr RedisScript kWrite{"l2 write", R"lua(
if ARGV[3] ~= '' then
  local g = redis.call('GET', KEYS[3]) or '0'
  if redis.call('GET', KEYS[2]) ~= ARGV[3] .. ' ' .. g then return 0 end
end
redis.call('DEL', KEYS[2])
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
for i = 4, #KEYS do
  local added = redis.call('SADD', KEYS[i], KEYS[1])
  if ttl == 0 then
    redis.call('PERSIST', KEYS[i])
  else
    local left = redis.call('PTTL', KEYS[i])
    if (left >= 0 and left < ttl) or (left == -1 and redis.call('SCARD', KEYS[i]) == 1) then
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
  end
end
return 1
)lua"};

// Cancels every lease (a new generation), removes every key of a tag's set, then the set.
// KEYS: the set, the generation. Returns how many keys.
constexpr RedisScript kRemoveTag{"l2 tag removal", R"lua(
redis.call('INCR', KEYS[2])
local keys = redis.call('SMEMBERS', KEYS[1])
for _, k in ipairs(keys) do redis.call('UNLINK', k) end
redis.call('UNLINK', KEYS[1])
return #keys
)lua"};

// Redis keeps expiry in milliseconds: round down (at least 1), so the copy in Redis never
// outlives the local one.
int64_t Millis(Duration ttl) { return std::max<int64_t>(1, ttl.count() / 1'000'000); }

thread_local const RedisL2::Impl* writing = nullptr;  // the L2 whose own write is under way

}  // namespace

void RedisL2::Impl::Invalidate(BackplaneKind kind, std::string_view payload) {
  if (writing == this) return;  // Set's own write: Redis already holds the new value
  if (kind == BackplaneKind::kField) return;  // a record cache's: not this level's
  // A removal that fails leaves the level distrusted until emptied.
  redis.Remove([&]() -> Status {
    switch (kind) {
      case BackplaneKind::kKey: {
        const std::string data = Key(payload), lease = Lease(payload);
        return redis.pool().With(
            [&](RedisConnection& c) { return redis.Check(c.Command({"UNLINK", data, lease})); });
      }
      case BackplaneKind::kPattern: {
        // Leases first: a load of a matching key that the scan misses cannot write afterwards.
        Status s = redis.pool().With(
            [&](RedisConnection& c) { return redis.Check(c.Command({"INCR", generation})); });
        if (!s.ok()) return s;
        return redis.ScanUnlink(coord::GlobEscape(data_prefix) + std::string(payload));
      }
      case BackplaneKind::kTag: {
        const std::string set = TagSet(payload);
        const std::string_view keys[] = {set, generation};
        return redis.pool().With(
            [&](RedisConnection& c) { return redis.Check(c.Eval(kRemoveTag, keys, {})); });
      }
      case BackplaneKind::kClear:
      case BackplaneKind::kField:
        break;
    }
    return redis.ScanUnlink(coord::GlobEscape(redis.ns()) + "*");
  });
}

RedisL2::Impl::Lookup RedisL2::Impl::Read(std::string_view key) {
  if (!redis.Usable()) return {};
  const std::string k = Key(key), lease = Lease(key);
  const std::string token = redis.NewLeaseToken();
  const std::string_view keys[] = {k, lease, generation};
  const std::string_view args[] = {token, lease_ms};
  return redis.pool().With([&](RedisConnection& c) -> Lookup {
    Result<RedisReplyPtr> r = c.Eval(kRead, keys, args);
    if (!r.ok()) {
      (void)redis.Check(std::move(r));
      return {};
    }
    const redisReply& reply = **r;
    Lookup out;
    if (reply.type == REDIS_REPLY_INTEGER) {
      redis.misses.fetch_add(1, std::memory_order_relaxed);
      if (reply.integer == 1) {
        out.lease = token;
      } else {
        out.leased_elsewhere = true;
      }
      return out;
    }
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
        reply.element[0]->type != REDIS_REPLY_STRING ||
        reply.element[1]->type != REDIS_REPLY_INTEGER || reply.element[1]->integer == 0 ||
        reply.element[1]->integer < -1) {
      redis.misses.fetch_add(1, std::memory_order_relaxed);  // expired as it was read
      return out;
    }
    redis.hits.fetch_add(1, std::memory_order_relaxed);
    Found f;
    f.value.assign(reply.element[0]->str, reply.element[0]->len);
    if (reply.element[1]->integer > 0) f.left = std::chrono::milliseconds(reply.element[1]->integer);
    out.found = std::move(f);
    return out;
  });
}

void RedisL2::Impl::Write(std::string_view key, std::string_view value,
                          const WriteOptions& options, std::string_view lease) {
  if (!redis.Usable()) return;
  const std::optional<Duration> ttl = options.ttl ? options.ttl : cache.options().default_ttl;
  const std::string ttl_ms = std::to_string(ttl ? Millis(*ttl) : 0);
  std::vector<std::string> names{Key(key), Lease(key), generation};
  for (const std::string& tag : options.tags) names.push_back(TagSet(tag));
  std::vector<std::string_view> keys(names.begin(), names.end());
  const std::string_view args[] = {value, ttl_ms, lease};
  redis.pool().With([&](RedisConnection& c) { redis.CountWrite(c.Eval(kWrite, keys, args)); });
}

Result<std::unique_ptr<RedisL2>> RedisL2::Connect(Cache& cache, const RedisOptions& redis,
                                                  RedisL2Options options) {
  if (options.name.empty()) return Status::InvalidArgument("name: must not be empty");
  if (options.lease.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("lease: must be positive, got {} ns", options.lease.count()));
  }
  Result<std::unique_ptr<coord::RedisPool>> pool = coord::RedisPool::Open(redis);
  if (!pool.ok()) return pool.status().WithContext(fmt::format("redis l2 '{}'", options.name));
  auto impl = std::make_unique<Impl>(cache, std::move(*pool), options);
  Impl* p = impl.get();
  p->target = coord::NewCacheTarget(cache);
  p->local = p->target->Watch([p](BackplaneKind kind, std::string_view payload) {
    // With a backplane, it calls Invalidate itself, before telling the others.
    if (!p->on_backplane.load(std::memory_order_acquire)) p->Invalidate(kind, payload);
  });
  return std::unique_ptr<RedisL2>(new RedisL2(std::move(impl)));
}

RedisL2::RedisL2(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RedisL2::~RedisL2() { impl_->local.Reset(); }

Result<std::string> RedisL2::GetOrSet(std::string_view key, const Fetcher& fetch,
                                      const WriteOptions& options) {
  // Redis is read inside the cache's load: one read per key however many threads miss, and a
  // change of the key while it runs (a backplane message, a local write) keeps the value read
  // from being cached.
  struct Context {
    Impl& impl;
    std::string_view key;
    const Fetcher& fetch;
    const WriteOptions& options;
  } context{*impl_, key, fetch, options};
  return impl_->cache.GetOrSetTimed(
      key,
      [&context]() -> Result<TimedValue> {
        Impl::Lookup found = context.impl.Read(context.key);
        if (found.found) {
          return TimedValue{std::move(found.found->value), found.found->left};  // what Redis has left
        }
        Result<std::string> v = context.fetch();
        if (!v.ok()) return v.status();
        if (!found.lease.empty()) {
          context.impl.Write(context.key, *v, context.options, found.lease);
        } else if (found.leased_elsewhere) {
          context.impl.redis.refused.fetch_add(1, std::memory_order_relaxed);
        }
        return TimedValue{std::move(*v), std::nullopt};
      },
      options);
}

Status RedisL2::Set(std::string_view key, std::string_view value, const WriteOptions& options) {
  // Redis first: a backplane announces the local write, and whoever it tells must find the new
  // value in Redis, not the old one.
  writing = impl_.get();  // the events of this write must not remove it from Redis again
  impl_->Write(key, value, options);
  Status s = impl_->cache.Set(key, value, options);
  writing = nullptr;
  // Refused locally (InvalidArgument): written nowhere.
  if (!s.ok()) impl_->Invalidate(BackplaneKind::kKey, key);
  return s;
}

RedisL2Stats RedisL2::GetStats() const { return impl_->redis.Stats(); }

}  // namespace larder
