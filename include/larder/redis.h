// Redis connection settings and the Redis-backed RateLimiter, LockService, SessionStore and
// PubSub of larder/coord.h: the same contracts as the in-process versions (differences are
// noted at each factory), shared by every process using one Redis server. One server, not a
// Redis Cluster: scripts touch keys they compute.
//
// Thread safety: every method of the returned objects may be called from any thread. Each object
// owns a small pool of connections (RedisOptions::max_connections); a call holds one connection
// for its round trip, so callers on different threads do not wait for each other's replies.
// Ownership: factories return sole ownership; destroying an object closes its connections.
//
// Failures (every method of the returned objects, besides the contract's own errors):
//   Unavailable         the server cannot be reached, dropped the connection or did not reply
//                       within command_timeout; the message names host:port. The next call
//                       reconnects, after a back-off that grows with repeated failures.
//   FailedPrecondition  the server refused the credentials (wants some and none were given,
//                       or was given a password it does not use), or refused SELECT of `db`;
//                       retrying will not help until the configuration changes. The password
//                       never appears in messages.
//   Internal            an unexpected reply, e.g. a key under the prefix holding another type.
// A call that fails with Unavailable may or may not have reached the server (a reply can be lost
// after the command ran); callers are never retried behind their back.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "larder/clock.h"
#include "larder/coord.h"
#include "larder/status.h"

namespace larder {

struct RedisOptions {
  // The server: a host name or IP address and a TCP port. Default 127.0.0.1:6379.
  std::string host = "127.0.0.1";
  uint16_t port = 6379;
  // ACL user for AUTH; empty = the default user (AUTH with the password alone).
  std::string username;
  // Sent with AUTH after connecting; empty = no AUTH.
  std::string password;
  // Selected (SELECT) after connecting; nullopt = the server's default, 0.
  std::optional<uint32_t> db;
  // Longest wait for the TCP connection. Default 1 s; must be positive.
  Duration connect_timeout = std::chrono::seconds(1);
  // Longest wait for a command to be sent and its reply read. The connection is then dropped,
  // since a late reply could not be told from the next one's. Default 1 s; must be positive.
  Duration command_timeout = std::chrono::seconds(1);
  // After a failed connection attempt or a broken connection, calls on that connection fail at
  // once with the last error for this long; every further failure doubles the pause, up to
  // reconnect_backoff_max. A good connection resets it. Keeps a down server from being hammered
  // and callers from waiting connect_timeout each. Default 100 ms up to 5 s; 0 = retry at once.
  Duration reconnect_backoff_min = std::chrono::milliseconds(100);
  Duration reconnect_backoff_max = std::chrono::seconds(5);
  // Connections an object opens at most, as concurrent callers need them; a caller finding all
  // busy waits for one. Default 4; must be at least 1.
  size_t max_connections = 4;
};

// Parses `redis://[[user]:password@]host[:port][/db]`: an IPv6 host in brackets
// (`redis://[::1]:6380`); user and password percent-decoded, and since the last '@' ends them, a
// password needs only its '%' written as %25. An empty host means 127.0.0.1, no port 6379, no db
// the server's default. InvalidArgument naming the part at fault for another scheme (TLS's
// rediss:// included), a port outside 1..65535, a db that is not a number, a user without a
// password, or a query string. Messages never quote the user or the password.
Result<RedisOptions> ParseRedisUrl(std::string_view url);

// Options from the environment, as the seed configures Redis: REDIS_URL (parsed as above) when
// set and not empty, else REDIS_HOST, REDIS_PORT and REDIS_PASSWORD, each defaulting when unset
// or empty. InvalidArgument naming the variable and the problem (`REDIS_PORT: must be a number
// from 1 to 65535, got "http"`). Reads the environment: not safe against a concurrent setenv().
Result<RedisOptions> RedisOptionsFromEnvironment();

struct RedisRateLimiterOptions {
  // Put before every key. A key's state lives under prefix + "f:" + key (fixed window: a hash),
  // or prefix + "s:" + key (sliding window: a sorted set of request times) and prefix + "w:" +
  // key (its window). Default "larder:rl:".
  std::string key_prefix = "larder:rl:";
  // Where the time comes from. Null (the default): the Redis server's clock (TIME), read inside
  // the script, so processes whose clocks disagree still share exact windows. Set: this clock's
  // NowNanos(), sent with each call; every process sharing the keys must then use clocks that
  // agree (a test's ManualClock). Either way Redis drops a key's memory `window` of real time
  // after the last request it admitted, so with a set clock a window must be longer in real
  // time than the pauses between requests, or counts are forgotten early.
  std::shared_ptr<Clock> clock;
};

// A RateLimiter over Redis. Each check is one Lua script run atomically by the server, so the
// limit is exact across every thread and process using the same server and prefix. Time is kept
// in whole microseconds: windows round up to one, and are capped at 2^50 us (about 35 years).
// Connects and PINGs before returning, so an unreachable server (Unavailable) or refused
// credentials (FailedPrecondition) show up here; InvalidArgument for options out of range
// (an empty host, port 0, non-positive timeouts, 0 connections, backoff max below min).
Result<std::unique_ptr<RateLimiter>> NewRedisRateLimiter(
    RateLimitMode mode, const RedisOptions& redis, const RedisRateLimiterOptions& options = {});

struct RedisLockOptions {
  // Put before every lock's key. Default "larder:lock:".
  std::string key_prefix = "larder:lock:";
};

// A LockService over Redis: SET key token NX PX ttl takes a lock, and Lua scripts release and
// extend it only when it still holds the caller's token. Expiry is the server's (PX), so it
// needs no clock and holds across processes; ttls round up to whole milliseconds. Connects and
// PINGs before returning, with the errors of NewRedisRateLimiter.
Result<std::unique_ptr<LockService>> NewRedisLockService(const RedisOptions& redis,
                                                         const RedisLockOptions& options = {});

struct RedisSessionOptions {
  // Put before every key: prefix + "s:" + id (a session: hash of user, data and ttl, expiring
  // with it), prefix + "u:" + user_id (the user's session ids, a sorted set in creation order),
  // prefix + "all" (every session id, scored by its deadline) and prefix + "seq" (the creation
  // counter). Default "larder:session:".
  std::string key_prefix = "larder:session:";
};

// A SessionStore over Redis. Each operation is one atomic Lua script, so every process sees one
// store. Expiry is the server's (PEXPIRE on the session's key, moved on each use), so it needs
// no clock; ttls round up to whole milliseconds (capped at Duration::max(), about 292 years), and
// expires_in is in whole milliseconds. A user's set of ids expires with the user's last session;
// expired ids in it are dropped when the user's sessions are listed. ApproximateSize() is the
// number of ids in prefix + "all": live sessions, plus expired ones until the next CreateSession
// prunes them (and any a server-side DEL removed behind the store's back). Connects and PINGs
// before returning, with the errors of NewRedisRateLimiter.
Result<std::unique_ptr<SessionStore>> NewRedisSessionStore(const RedisOptions& redis,
                                                           const RedisSessionOptions& options = {});

struct RedisPubSubOptions {
  // Subscription queues and dispatcher threads, as for NewLocalPubSub.
  PubSubOptions delivery;
  // Called on the subscriber connection's thread with false when that connection is lost, and
  // with true once it is back with every subscription in place; not for the first connection
  // (the factory waits for it). Messages published meanwhile are lost: a listener that cannot
  // afford that resynchronizes on true. It must return promptly, and must not destroy the
  // PubSub; Subscribe and Flush from it return FailedPrecondition. Default: none.
  std::function<void(bool connected)> on_connection_change;
  // An idle subscriber connection is PINGed this often, so a server that vanished without
  // closing the connection is noticed within about ping_interval + command_timeout.
  // Default 5 s; 0 = never (then only a closed connection is noticed); must not be negative.
  Duration ping_interval = std::chrono::seconds(5);
};

// A PubSub over Redis PUBLISH, SUBSCRIBE and PSUBSCRIBE: messages reach every process using the
// server. Publish runs PUBLISH on a pooled connection. One more connection, owned by a thread,
// is subscribed to the union of the local subscriptions: local subscriptions to one channel or
// pattern share one Redis subscription, dropped with the last of them. What it receives goes
// through the same bounded queues and dispatchers as NewLocalPubSub (same overflow policy and
// Stats). After losing it, the thread reconnects with the RedisOptions back-off and subscribes
// again; on_connection_change tells when. Differences from the in-process PubSub:
//   Publish    returns Redis's count: one per PubSub (connection) subscribed to the channel,
//              plus one per matching pattern each holds, however many local subscriptions
//              share them.
//   Subscribe, PSubscribe  return once the server has confirmed the subscription, so a message
//              published after they return is received. Unavailable while the subscriber
//              connection is down (subscriptions made before outlive the outage).
//   Flush      PINGs the subscriber connection and waits for the answer, then for delivery: every
//              message whose PUBLISH completed before the call is delivered, dropped or
//              discarded (messages still on their way to the server cannot be known). While
//              the connection is down it delivers what was received and returns Unavailable.
//   ordering   messages from one publishing thread keep their order; messages published during
//              an outage are lost.
// Connects both connections before returning, with the errors of NewRedisRateLimiter;
// InvalidArgument for a zero capacity or thread count, or a negative ping_interval.
// Destroying it as NewLocalPubSub. REQUIRES: not destroyed from a handler or the callback.
Result<std::unique_ptr<PubSub>> NewRedisPubSub(const RedisOptions& redis,
                                               const RedisPubSubOptions& options = {});

}  // namespace larder
