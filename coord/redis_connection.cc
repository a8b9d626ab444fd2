// RedisConnection: connecting, AUTH/SELECT, round trips, error replies, back-off, EVALSHA and
// push mode.
#include "redis_connection.h"

#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace larder::coord {
namespace {

// A command's arguments as hiredis's argv calls take them (binary-safe: lengths, no NULs).
class Argv {
 public:
  explicit Argv(std::span<const std::string_view> args) {
    values_.reserve(args.size());
    lengths_.reserve(args.size());
    for (std::string_view a : args) {
      values_.push_back(a.data());
      lengths_.push_back(a.size());
    }
  }
  int count() const noexcept { return static_cast<int>(values_.size()); }
  const char** values() noexcept { return values_.data(); }
  const size_t* lengths() const noexcept { return lengths_.data(); }

 private:
  std::vector<const char*> values_;
  std::vector<size_t> lengths_;
};

// hiredis writes with write(2), so a write to a socket the server has reset raises SIGPIPE,
// whose default action ends the process. This blocks it on the calling thread for one round
// trip and consumes a SIGPIPE raised meanwhile (unless one was pending already), leaving the
// process's signal dispositions alone.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~SigpipeGuard() {
    if (!blocked_) return;
    sigset_t pending;
    sigemptyset(&pending);
    if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec no_wait{};
      while (sigtimedwait(&pipe_, nullptr, &no_wait) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

timeval ToTimeval(Duration d) {
  const auto micros =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(micros / 1'000'000);
  tv.tv_usec = static_cast<suseconds_t>(micros % 1'000'000);
  return tv;
}

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

std::string ServerName(const RedisOptions& options) {
  const bool v6 = options.host.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}", options.host, options.port)
            : fmt::format("{}:{}", options.host, options.port);
}

bool StartsWith(const redisReply& reply, std::string_view prefix) {
  return std::string_view(reply.str, reply.len).starts_with(prefix);
}

// `s`'s code with another message.
Status WithMessage(const Status& s, std::string_view message) {
  switch (s.code()) {
    case Status::Code::kFailedPrecondition:
      return Status::FailedPrecondition(message);
    case Status::Code::kInternal:
      return Status::Internal(message);
    default:
      return Status::Unavailable(message);
  }
}

}  // namespace

RedisConnection::RedisConnection(const RedisOptions& options)
    : options_(options), server_(ServerName(options)) {}

RedisConnection::~RedisConnection() { Disconnect(); }

void RedisConnection::Disconnect() noexcept {
  if (ctx_ == nullptr) return;
  redisFree(ctx_);
  ctx_ = nullptr;
}

Result<RedisReplyPtr> RedisConnection::Command(std::span<const std::string_view> args) {
  Result<RedisReplyPtr> reply = RoundTrip(args);
  if (reply.ok() && (*reply)->type == REDIS_REPLY_ERROR) return ReplyError(**reply, args[0]);
  return reply;
}

Result<RedisReplyPtr> RedisConnection::Eval(const RedisScript& script,
                                            std::span<const std::string_view> keys,
                                            std::span<const std::string_view> args) {
  const std::string key_count = std::to_string(keys.size());
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto it = shas_.find(&script);
    if (it == shas_.end()) {
      Result<std::string> sha = LoadScript(script);
      if (!sha.ok()) return std::move(sha).status();
      it = shas_.emplace(&script, *std::move(sha)).first;
    }
    std::vector<std::string_view> argv = {"EVALSHA", it->second, key_count};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    Result<RedisReplyPtr> reply = RoundTrip(argv);
    if (!reply.ok()) return reply;
    if ((*reply)->type != REDIS_REPLY_ERROR) return reply;
    if (!StartsWith(**reply, "NOSCRIPT")) return ReplyError(**reply, script.name);
    shas_.erase(it);  // the server lost its script cache: load again
  }
  return Status::Internal(
      fmt::format("redis {}: script '{}' is unknown right after loading it", server_, script.name));
}

Result<std::string> RedisConnection::LoadScript(const RedisScript& script) {
  Result<RedisReplyPtr> reply = Command({"SCRIPT", "LOAD", script.source});
  if (!reply.ok()) return std::move(reply).status();
  if ((*reply)->type != REDIS_REPLY_STRING) {
    return Status::Internal(
        fmt::format("redis {}: SCRIPT LOAD of '{}' did not return a SHA1", server_, script.name));
  }
  return std::string((*reply)->str, (*reply)->len);
}

Status RedisConnection::EnsureConnected() {
  if (ctx_ != nullptr) return Status::OK();
  const auto now = std::chrono::steady_clock::now();
  if (failures_ > 0 && now < retry_at_) {
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(retry_at_ - now);
    return WithMessage(last_error_, fmt::format("{} (next attempt in {} ms)", last_error_.message(),
                                                std::max<int64_t>(1, wait.count())));
  }
  Status s = Connect();
  if (!s.ok()) {
    NoteFailure(s);
    return s;
  }
  failures_ = 0;
  backoff_ = Duration::zero();
  return Status::OK();
}

Status RedisConnection::Connect() {
  redisContext* c = redisConnectWithTimeout(options_.host.c_str(), options_.port,
                                            ToTimeval(options_.connect_timeout));
  if (c == nullptr) {
    return Status::Unavailable(fmt::format("redis {}: cannot connect: out of memory", server_));
  }
  if (c->err != 0) {
    Status s = Status::Unavailable(fmt::format("redis {}: cannot connect: {}", server_, c->errstr));
    redisFree(c);
    return s;
  }
  ctx_ = c;
  if (redisSetTimeout(c, ToTimeval(options_.command_timeout)) != REDIS_OK) {
    Disconnect();
    return Status::Unavailable(fmt::format("redis {}: cannot set the command timeout", server_));
  }
  // Best effort: keepalive only helps notice a vanished server on an idle connection sooner.
  (void)redisEnableKeepAlive(c);

  std::vector<std::string_view> auth = {"AUTH"};
  if (!options_.username.empty()) auth.push_back(options_.username);
  auth.push_back(options_.password);
  const std::string db = options_.db ? std::to_string(*options_.db) : std::string();
  const std::vector<std::string_view> select = {"SELECT", db};
  Status s = options_.password.empty() ? Status::OK() : Setup(auth);
  if (s.ok() && options_.db) s = Setup(select);
  if (!s.ok()) Disconnect();
  return s;
}

Status RedisConnection::Setup(std::span<const std::string_view> args) {
  Result<RedisReplyPtr> reply = Send(args);
  if (!reply.ok()) return std::move(reply).status();
  if ((*reply)->type != REDIS_REPLY_ERROR) return Status::OK();
  // AUTH or SELECT refused: the configuration is wrong, whatever the server's error code.
  return Status::FailedPrecondition(ReplyError(**reply, args[0]).message());
}

Result<RedisReplyPtr> RedisConnection::RoundTrip(std::span<const std::string_view> args) {
  Status s = EnsureConnected();
  if (!s.ok()) return s;
  Result<RedisReplyPtr> reply = Send(args);
  if (!reply.ok()) NoteFailure(reply.status());  // the context is unusable after an I/O error
  return reply;
}

Result<RedisReplyPtr> RedisConnection::Send(std::span<const std::string_view> args) {
  Argv argv(args);
  void* raw = nullptr;
  int error = 0;
  {
    SigpipeGuard guard;
    errno = 0;
    raw = redisCommandArgv(ctx_, argv.count(), argv.values(), argv.lengths());
    error = errno;
  }
  if (raw != nullptr) return RedisReplyPtr(static_cast<redisReply*>(raw));
  return Status::Unavailable(
      fmt::format("redis {}: {}: {}", server_, args[0], IoFailure(error, "reply")));
}

std::string RedisConnection::IoFailure(int error, std::string_view waiting) const {
  if (ctx_->err == REDIS_ERR_IO && (error == EAGAIN || error == EWOULDBLOCK)) {
    return fmt::format("no {} within {} ms", waiting, Millis(options_.command_timeout));
  }
  if (ctx_->err == REDIS_ERR_EOF) return "the server closed the connection";
  return ctx_->errstr;
}

Duration RedisConnection::RetryDelay() const {
  if (ctx_ != nullptr || failures_ == 0) return Duration::zero();
  const auto now = std::chrono::steady_clock::now();
  return now < retry_at_ ? std::chrono::duration_cast<Duration>(retry_at_ - now) : Duration::zero();
}

Status RedisConnection::Append(std::span<const std::string_view> args) {
  Argv argv(args);
  if (redisAppendCommandArgv(ctx_, argv.count(), argv.values(), argv.lengths()) ==
      REDIS_OK) {
    return Status::OK();
  }
  Status s = Status::Unavailable(fmt::format("redis {}: {}: {}", server_, args[0], ctx_->errstr));
  NoteFailure(s);
  return s;
}

Status RedisConnection::Flush() {
  int done = 0;
  int error = 0;
  {
    SigpipeGuard guard;
    while (done == 0) {
      errno = 0;
      if (redisBufferWrite(ctx_, &done) == REDIS_ERR) {
        error = errno;
        break;
      }
    }
  }
  if (done != 0) return Status::OK();
  Status s =
      Status::Unavailable(fmt::format("redis {}: write: {}", server_, IoFailure(error, "room")));
  NoteFailure(s);
  return s;
}

Status RedisConnection::ReadInput() {
  errno = 0;
  if (redisBufferRead(ctx_) == REDIS_OK) return Status::OK();
  const int error = errno;
  Status s =
      Status::Unavailable(fmt::format("redis {}: read: {}", server_, IoFailure(error, "data")));
  NoteFailure(s);
  return s;
}

Result<RedisReplyPtr> RedisConnection::NextReply() {
  void* raw = nullptr;
  if (redisGetReplyFromReader(ctx_, &raw) == REDIS_OK) {
    return RedisReplyPtr(static_cast<redisReply*>(raw));
  }
  Status s =
      Status::Unavailable(fmt::format("redis {}: unreadable reply: {}", server_, ctx_->errstr));
  NoteFailure(s);
  return s;
}

Status RedisConnection::ReplyError(const redisReply& reply, std::string_view command) const {
  const std::string_view text(reply.str, reply.len);
  const std::string message = fmt::format("redis {}: {} refused: {}", server_, command, text);
  if (StartsWith(reply, "NOAUTH") || StartsWith(reply, "WRONGPASS") ||
      StartsWith(reply, "NOPERM")) {
    return Status::FailedPrecondition(message);
  }
  // The server is there but cannot serve now: loading its data, stuck in a script, a replica
  // without its primary or read-only.
  for (std::string_view busy : {"LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "READONLY"}) {
    if (StartsWith(reply, busy)) return Status::Unavailable(message);
  }
  return Status::Internal(message);
}

void RedisConnection::NoteFailure(const Status& status) {
  Disconnect();
  ++failures_;
  backoff_ = failures_ == 1 ? options_.reconnect_backoff_min
                            : std::min<Duration>(2 * backoff_, options_.reconnect_backoff_max);
  retry_at_ = std::chrono::steady_clock::now() +
              std::chrono::duration_cast<std::chrono::steady_clock::duration>(backoff_);
  last_error_ = status;
}

}  // namespace larder::coord
