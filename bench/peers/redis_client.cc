// RedisClient: argv commands, pipelined appends and a polled read for subscribers.
#include "redis_client.h"

#include <poll.h>
#include <sys/time.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace larder::bench {
namespace {

// hiredis's argv form: binary-safe, no format string.
struct Argv {
  explicit Argv(std::initializer_list<std::string_view> args) {
    for (std::string_view a : args) {
      values.push_back(a.data());
      lengths.push_back(a.size());
    }
  }
  int count() const { return static_cast<int>(values.size()); }
  std::vector<const char*> values;
  std::vector<size_t> lengths;
};

[[noreturn]] void Fail(const redisContext* ctx, const char* what) {
  throw std::runtime_error(std::string("redis: ") + what + ": " +
                           (ctx != nullptr ? ctx->errstr : "out of memory"));
}

}  // namespace

RedisClient::RedisClient(int port) {
  const timeval timeout{5, 0};
  ctx_ = redisConnectWithTimeout("127.0.0.1", port, timeout);
  if (ctx_ == nullptr || ctx_->err != 0) {
    const std::string err = ctx_ != nullptr ? ctx_->errstr : "out of memory";
    if (ctx_ != nullptr) redisFree(ctx_);
    throw std::runtime_error("redis: cannot connect: " + err);
  }
}

RedisClient::~RedisClient() { redisFree(ctx_); }

ReplyPtr RedisClient::Command(std::initializer_list<std::string_view> args) {
  Argv argv(args);
  void* reply = redisCommandArgv(ctx_, argv.count(), argv.values.data(), argv.lengths.data());
  if (reply == nullptr) Fail(ctx_, "command");
  return ReplyPtr(static_cast<redisReply*>(reply));
}

void RedisClient::Append(std::initializer_list<std::string_view> args) {
  Argv argv(args);
  if (redisAppendCommandArgv(ctx_, argv.count(), argv.values.data(), argv.lengths.data()) !=
      REDIS_OK) {
    Fail(ctx_, "append");
  }
}

ReplyPtr RedisClient::Reply() {
  void* reply = nullptr;
  if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr) Fail(ctx_, "reply");
  return ReplyPtr(static_cast<redisReply*>(reply));
}

ReplyPtr RedisClient::NextPush(std::chrono::milliseconds timeout) {
  // What is buffered first, then the socket: a blocking read with a socket timeout would leave
  // the context unusable after the first quiet period.
  for (;;) {
    void* reply = nullptr;
    if (redisGetReplyFromReader(ctx_, &reply) != REDIS_OK) Fail(ctx_, "reply");
    if (reply != nullptr) return ReplyPtr(static_cast<redisReply*>(reply));
    pollfd p{ctx_->fd, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(timeout.count()));
    if (ready < 0) Fail(ctx_, "poll");
    if (ready == 0) return nullptr;
    if (redisBufferRead(ctx_) != REDIS_OK) Fail(ctx_, "read");
  }
}

}  // namespace larder::bench
