// RedisClient: one plain hiredis connection to a local server, for the hand-rolled rows of the
// coordination suite (what an application talking to Redis directly would send).
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string_view>

#include <hiredis/hiredis.h>

namespace larder::bench {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// Every I/O failure throws std::runtime_error: a benchmark cannot go on without its server.
// Not thread-safe; one per thread.
class RedisClient {
 public:
  // Connects to 127.0.0.1:port.
  explicit RedisClient(int port);
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;
  ~RedisClient();

  // Sends one command and waits for its reply (which may be an error reply).
  ReplyPtr Command(std::initializer_list<std::string_view> args);
  // Queues a command without waiting: Reply() reads the replies in order (pipelining).
  void Append(std::initializer_list<std::string_view> args);
  ReplyPtr Reply();
  // The next reply or pushed message, waiting at most `timeout`; null when none came in time.
  // For a connection that has SUBSCRIBEd.
  ReplyPtr NextPush(std::chrono::milliseconds timeout);

 private:
  redisContext* ctx_ = nullptr;
};

}  // namespace larder::bench
