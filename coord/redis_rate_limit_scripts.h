// The Lua scripts of the Redis rate limiter. Each runs atomically on the server, so the read,
// the decision and the write of one check cannot interleave with another process's check.
//
// Times and windows are integer microseconds: a double (Lua's only number) holds them exactly
// (epoch microseconds are about 2^51; windows are capped at 2^50). `now` is ARGV's clock value,
// or the server's clock (TIME) when that argument is empty. Numbers written back go through
// string.format('%d') so that Redis never sees an exponent.
#pragma once

#include "redis_connection.h"

namespace larder::coord {

#define LARDER_RATE_LIMIT_LUA_PRELUDE                         \
  "local function int(x) return string.format('%d', x) end\n" \
  "local function clock(arg)\n"                               \
  "  local now = tonumber(arg)\n"                             \
  "  if now then return now end\n"                            \
  "  local t = redis.call('TIME')\n"                          \
  "  return tonumber(t[1]) * 1000000 + tonumber(t[2])\n"      \
  "end\n"

// Fixed window, counting. KEYS[1]: hash {start, count, window} of the key's current window,
// which starts at its first request; it expires `window` after the last admitted request (or
// window change), when the window has surely ended. ARGV: limit, window, now.
// Returns {allowed (0/1), counted in the window, microseconds until it ends}.
inline constexpr RedisScript kFixedWindowCheck{"fixed window check",
                                               LARDER_RATE_LIMIT_LUA_PRELUDE R"lua(
local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), clock(ARGV[3])
local h = redis.call('HMGET', KEYS[1], 'start', 'count', 'window')
local start, count, stored = tonumber(h[1]), tonumber(h[2]) or 0, tonumber(h[3])
if start == nil or now - start >= window then
  start, count = now, 0
end
local allowed = 0
if count < limit then
  allowed, count = 1, count + 1
end
-- A refusal changes nothing unless the window did: no write, no replication traffic.
if allowed == 1 or stored ~= window then
  redis.call('HSET', KEYS[1], 'start', int(start), 'count', int(count), 'window', int(window))
  redis.call('PEXPIRE', KEYS[1], int(math.ceil(window / 1000)))
end
return {allowed, count, start + window - now}
)lua"};

// Fixed window, looking only. KEYS[1] as above; ARGV: now.
// Returns {counted in the window, microseconds until it ends}, {0, 0} when no window is open.
inline constexpr RedisScript kFixedWindowInfo{"fixed window info",
                                              LARDER_RATE_LIMIT_LUA_PRELUDE R"lua(
local now = clock(ARGV[1])
local h = redis.call('HMGET', KEYS[1], 'start', 'count', 'window')
local start, count, window = tonumber(h[1]), tonumber(h[2]), tonumber(h[3])
if start == nil or count == nil or window == nil or now - start >= window then
  return {0, 0}
end
return {count, start + window - now}
)lua"};

// Sliding window, counting. KEYS[1]: sorted set of the counted requests, scored by time, at most
// `limit` live ones; KEYS[2]: the window of the last check (for the info script). Both expire
// `window` after the last admitted request (or window change), when every entry is old. ARGV:
// limit, window, now. Requests at least `window` old are trimmed first; a request is admitted while
// fewer than `limit` remain, so no interval of length `window` ever holds more than `limit`.
// Returns {allowed (0/1), counted in the window, microseconds until the oldest leaves}.
inline constexpr RedisScript kSlidingWindowCheck{"sliding window check",
                                                 LARDER_RATE_LIMIT_LUA_PRELUDE R"lua(
local limit, window, now = tonumber(ARGV[1]), tonumber(ARGV[2]), clock(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - window))
local used = redis.call('ZCARD', KEYS[1])
local allowed = 0
if used < limit then
  -- Members are "time:n". Only a clock that went back can make one clash; then try the next n.
  local n = used
  while redis.call('ZADD', KEYS[1], int(now), int(now) .. ':' .. n) == 0 do
    n = n + 1
  end
  allowed, used = 1, used + 1
end
if allowed == 1 or tonumber(redis.call('GET', KEYS[2])) ~= window then
  local ttl = int(math.ceil(window / 1000))
  redis.call('SET', KEYS[2], int(window), 'PX', ttl)
  redis.call('PEXPIRE', KEYS[1], ttl)
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, used, tonumber(oldest[2]) + window - now}
)lua"};

// Sliding window, looking only. KEYS as above; ARGV: now.
// Returns {counted in the window, microseconds until the oldest leaves}, {0, 0} for none.
inline constexpr RedisScript kSlidingWindowInfo{"sliding window info",
                                                LARDER_RATE_LIMIT_LUA_PRELUDE R"lua(
local now = clock(ARGV[1])
local window = tonumber(redis.call('GET', KEYS[2]))
if window == nil then
  return {0, 0}
end
local live = '(' .. int(now - window)
local used = redis.call('ZCOUNT', KEYS[1], live, '+inf')
if used == 0 then
  return {0, 0}
end
local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], live, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
return {used, tonumber(oldest[2]) + window - now}
)lua"};

#undef LARDER_RATE_LIMIT_LUA_PRELUDE

}  // namespace larder::coord
