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

// The value and the milliseconds it has left (-1: no expiry), or nil. KEYS[1]: the key.
constexpr RedisScript kRead{"l2 read", R"lua(
local v = redis.call('GET', KEYS[1])
if not v then return nil end
return {v, redis.call('PTTL', KEYS[1])}
)lua"};

// Stores the value with its ttl (ms; 0 = none) and adds the key to each tag's set, whose own
// expiry is kept at least as long as its members'. KEYS[1]: the key, KEYS[2..]: tag sets;
// ARGV: value, ttl.
constexpr RedisScript kWrite{"l2 write", R"lua(
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
for i = 2, #KEYS do
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

// Removes every key of a tag's set, then the set. KEYS[1]: the set. Returns how many keys.
constexpr RedisScript kRemoveTag{"l2 tag removal", R"lua(
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
      case BackplaneKind::kKey:
        return redis.Unlink(Key(payload));
      case BackplaneKind::kPattern:
        return redis.ScanUnlink(coord::GlobEscape(data_prefix) + std::string(payload));
      case BackplaneKind::kTag: {
        const std::string set = TagSet(payload);
        const std::string_view keys[] = {set};
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

std::optional<RedisL2::Impl::Found> RedisL2::Impl::Read(std::string_view key) {
  if (!redis.Usable()) return std::nullopt;
  const std::string k = Key(key);
  const std::string_view keys[] = {k};
  return redis.pool().With([&](RedisConnection& c) -> std::optional<Found> {
    Result<RedisReplyPtr> r = c.Eval(kRead, keys, {});
    if (!r.ok()) {
      (void)redis.Check(std::move(r));
      return std::nullopt;
    }
    const redisReply& reply = **r;
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
        reply.element[0]->type != REDIS_REPLY_STRING ||
        reply.element[1]->type != REDIS_REPLY_INTEGER || reply.element[1]->integer == 0 ||
        reply.element[1]->integer < -1) {
      redis.misses.fetch_add(1, std::memory_order_relaxed);
      return std::nullopt;
    }
    redis.hits.fetch_add(1, std::memory_order_relaxed);
    Found f;
    f.value.assign(reply.element[0]->str, reply.element[0]->len);
    if (reply.element[1]->integer > 0) f.left = std::chrono::milliseconds(reply.element[1]->integer);
    return f;
  });
}

void RedisL2::Impl::Write(std::string_view key, std::string_view value,
                          const WriteOptions& options) {
  if (!redis.Usable()) return;
  const std::optional<Duration> ttl = options.ttl ? options.ttl : cache.options().default_ttl;
  const std::string ttl_ms = std::to_string(ttl ? Millis(*ttl) : 0);
  std::vector<std::string> names{Key(key)};
  for (const std::string& tag : options.tags) names.push_back(TagSet(tag));
  std::vector<std::string_view> keys(names.begin(), names.end());
  const std::string_view args[] = {value, ttl_ms};
  if (redis.pool()
          .With([&](RedisConnection& c) { return redis.Check(c.Eval(kWrite, keys, args)); })
          .ok()) {
    redis.writes.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<std::unique_ptr<RedisL2>> RedisL2::Connect(Cache& cache, const RedisOptions& redis,
                                                  RedisL2Options options) {
  if (options.name.empty()) return Status::InvalidArgument("name: must not be empty");
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
  Cache& cache = impl_->cache;
  if (!cache.Exists(key)) {
    if (std::optional<Impl::Found> found = impl_->Read(key)) {
      // Cached as a load, for no longer than Redis keeps it.
      WriteOptions local = options;
      const std::optional<Duration> ttl = options.ttl ? options.ttl : cache.options().default_ttl;
      if (found->left) local.ttl = ttl ? std::min(*ttl, *found->left) : *found->left;
      return cache.GetOrSet(key, [&] { return Result<std::string>(found->value); }, local);
    }
  }
  return cache.GetOrSet(
      key,
      [&]() -> Result<std::string> {
        Result<std::string> v = fetch();
        if (v.ok()) impl_->Write(key, *v, options);
        return v;
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
