// RedisConnection: one hiredis connection with timeouts, AUTH, lazy reconnection with back-off,
// Lua scripts by EVALSHA, and a push mode for a connection that SUBSCRIBEs.
//
// Thread safety: none. A connection is used by one thread at a time; RedisPool (redis_pool.h)
// hands connections to concurrent callers.
#pragma once

#include <hiredis/hiredis.h>

#include <chrono>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "larder/redis.h"
#include "larder/status.h"

namespace larder::coord {

struct RedisReplyDeleter {
  void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, RedisReplyDeleter>;

// A Lua script. Defined as a constant with static storage: connections remember each script's
// SHA1 by its address.
struct RedisScript {
  std::string_view name;    // for messages ("fixed window check")
  std::string_view source;  // Lua
};

class RedisConnection {
 public:
  // Does not connect: the first command does.
  explicit RedisConnection(const RedisOptions& options);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  // Runs one command; arguments are binary-safe. Returns the reply, never an error reply: those
  // become a Status (see larder/redis.h for the codes). Connects first when not connected.
  Result<RedisReplyPtr> Command(std::span<const std::string_view> args);
  Result<RedisReplyPtr> Command(std::initializer_list<std::string_view> args) {
    return Command(std::span<const std::string_view>(args.begin(), args.size()));
  }

  // Runs `script` with EVALSHA, loading it (SCRIPT LOAD) the first time and again when the server
  // has forgotten it (NOSCRIPT after a restart or SCRIPT FLUSH); a NOSCRIPT reply means the
  // script did not run, so loading and running it again is safe.
  Result<RedisReplyPtr> Eval(const RedisScript& script, std::span<const std::string_view> keys,
                             std::span<const std::string_view> args);

  // Closes the socket without counting a failure: the next command connects at once. For
  // connections that probably share a broken one's fate (the server restarted).
  void Disconnect() noexcept;

  bool connected() const noexcept { return ctx_ != nullptr; }
  // "host:port", as messages name the server.
  const std::string& server() const noexcept { return server_; }

  // The Status a Command would return for an error reply to `command`.
  Status ReplyError(const redisReply& reply, std::string_view command) const;

  // Push mode, for a connection that has SUBSCRIBEd: the server then sends messages whenever
  // they are published, so a reply is not read right after its command. The caller writes with
  // Append and Flush, waits with poll(2) for fd() to be readable, reads with ReadInput and takes
  // complete replies with NextReply. Do not mix with Command or Eval. Every I/O failure drops the
  // connection and counts towards the back-off, as a failed Command does.

  // Connects (AUTH, SELECT) unless connected; during a back-off, fails at once with the last
  // error, as a Command would.
  Status Open() { return EnsureConnected(); }
  // Until the back-off allows the next connection attempt; zero when one may be made now.
  Duration RetryDelay() const;
  // The socket; -1 while disconnected.
  int fd() const noexcept { return ctx_ != nullptr ? ctx_->fd : -1; }
  // Adds a command to the output buffer without I/O. REQUIRES: connected.
  Status Append(std::span<const std::string_view> args);
  // Writes the output buffer, waiting up to command_timeout for the socket. REQUIRES: connected.
  Status Flush();
  // One read(2) of what the socket holds. Call it when fd() is readable: otherwise it waits up
  // to command_timeout. The server closing the connection is Unavailable. REQUIRES: connected.
  Status ReadInput();
  // The next complete reply read so far, error replies included (ReplyError converts them);
  // null when none is complete. Unavailable for a reply hiredis cannot parse.
  // REQUIRES: connected.
  Result<RedisReplyPtr> NextReply();
  // Closes the socket as a failure: the back-off starts, and connection attempts fail with `why`
  // meanwhile. For a caller that finds the connection useless (no reply in time).
  void Drop(const Status& why) { NoteFailure(why); }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  Status EnsureConnected();
  // Opens the socket and sends AUTH and SELECT as configured; disconnected again on failure.
  Status Connect();
  // Runs one command of Connect(): any error reply is FailedPrecondition.
  Status Setup(std::span<const std::string_view> args);
  // Connects when needed, then Send(); an I/O error drops the context and counts a failure.
  Result<RedisReplyPtr> RoundTrip(std::span<const std::string_view> args);
  // Sends `args` and reads the reply, which may be an error reply. REQUIRES: connected.
  Result<RedisReplyPtr> Send(std::span<const std::string_view> args);
  // Why the last I/O failed, `error` being its errno; `waiting` names what timed out.
  std::string IoFailure(int error, std::string_view waiting) const;
  void NoteFailure(const Status& status);
  Result<std::string> LoadScript(const RedisScript& script);

  // Constant after construction.
  const RedisOptions options_;
  const std::string server_;

  redisContext* ctx_ = nullptr;  // null while disconnected
  // Back-off: after `failures_` failures in a row, no attempt before retry_at_; last_error_ is
  // what calls get meanwhile.
  int failures_ = 0;
  std::chrono::nanoseconds backoff_{0};
  SteadyTime retry_at_{};
  Status last_error_;
  // SHA1 of each script loaded through this connection (scripts outlive connections).
  std::unordered_map<const RedisScript*, std::string> shas_;
};

}  // namespace larder::coord
