// RedisPubSubListener: the subscriber thread's loop, (re)subscribing, replies and barriers.
#include "redis_pubsub_listener.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace larder::coord {
namespace {

// Names per SUBSCRIBE command when many are sent at once (after a reconnect): keeps each
// command, and the server's work on it, small.
constexpr size_t kNamesPerCommand = 256;

thread_local const RedisPubSubListener* tls_listener = nullptr;

std::string_view Text(const redisReply& r) {
  return r.type == REDIS_REPLY_STRING || r.type == REDIS_REPLY_STATUS
             ? std::string_view(r.str, r.len)
             : std::string_view();
}

// poll(2)'s timeout for a wait until `deadline`: rounded up to whole milliseconds, so the wait
// never ends just short of it and spins.
int PollMillis(std::chrono::steady_clock::time_point deadline) {
  const auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return 0;
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(left).count();
  return static_cast<int>(std::min<int64_t>(ms, 60'000));
}

}  // namespace

RedisPubSubListener::RedisPubSubListener(const RedisOptions& options, Duration ping_interval,
                                         RedisPubSubSink sink)
    : options_(options),
      ping_interval_(ping_interval),
      sink_(std::move(sink)),
      connection_(options) {}

RedisPubSubListener::~RedisPubSubListener() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status RedisPubSubListener::Start() {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    return Status::ResourceExhausted(
        fmt::format("pub/sub listener: eventfd: {}", std::system_category().message(errno)));
  }
  try {
    thread_ = std::thread([this] { Run(); });
  } catch (const std::system_error& e) {
    return Status::ResourceExhausted(fmt::format("starting the pub/sub listener: {}", e.what()));
  }
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return first_attempt_done_; });
  if (up_) return Status::OK();
  Status why = last_error_;
  lock.unlock();
  Stop();
  return why;
}

void RedisPubSubListener::Stop() noexcept {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  Wake();
  if (thread_.joinable()) thread_.join();
}

bool RedisPubSubListener::OnListenerThread() const noexcept { return tls_listener == this; }

void RedisPubSubListener::Wake() const noexcept {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  // The only failure is a counter about to overflow (EAGAIN): a wake-up is pending anyway.
  const ssize_t written = write(wake_fd_, &one, sizeof(one));
  (void)written;
}

Status RedisPubSubListener::Down() const {
  if (stopping_) return Status::Unavailable("pub/sub: shutting down");
  return Status::Unavailable(
      fmt::format("pub/sub: the subscriber connection is down: {}", last_error_.message()));
}

Status RedisPubSubListener::Add(SubscriptionKind kind, std::string_view name) {
  std::unique_lock lock(mu_);
  table_.Ref(kind, name);
  if (OnListenerThread()) {
    return Status::FailedPrecondition(
        "pub/sub: subscribing from the connection callback would wait for itself");
  }
  if (stopping_ || !connected_) return Down();
  if (table_.Active(kind, name)) return Status::OK();
  const uint64_t epoch = epoch_;
  Wake();
  cv_.wait(lock, [&] { return stopping_ || epoch_ != epoch || table_.Active(kind, name); });
  if (table_.Active(kind, name)) return Status::OK();
  return Down();
}

void RedisPubSubListener::Remove(SubscriptionKind kind, std::string_view name) noexcept {
  {
    std::lock_guard lock(mu_);
    table_.Unref(kind, name);
  }
  Wake();
}

Status RedisPubSubListener::Sync() {
  std::unique_lock lock(mu_);
  if (OnListenerThread()) {
    return Status::FailedPrecondition(
        "pub/sub: Flush from the connection callback would wait for itself");
  }
  if (stopping_ || !connected_) return Down();
  const uint64_t ticket = ++sync_requested_;
  const uint64_t epoch = epoch_;
  Wake();
  cv_.wait(lock, [&] { return stopping_ || epoch_ != epoch || sync_done_ >= ticket; });
  if (sync_done_ >= ticket) return Status::OK();
  return Down();
}

void RedisPubSubListener::Run() {
  tls_listener = this;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) break;
    }
    if (!connection_.connected()) {
      if (Status s = Connect(); !s.ok()) {
        {
          std::lock_guard lock(mu_);
          last_error_ = s;
          first_attempt_done_ = true;
        }
        cv_.notify_all();
        Pause(connection_.RetryDelay());
      }
      continue;
    }
    // Also here, not only on replies: a name unsubscribed before its SUBSCRIBE went out leaves
    // the table all active with no reply to come.
    MaybeUp();
    Status s = SendChanges();
    if (s.ok()) s = Wait();
    if (!s.ok()) Lost(s);
  }
  connection_.Disconnect();
  tls_listener = nullptr;
}

Status RedisPubSubListener::Connect() {
  if (Status s = connection_.Open(); !s.ok()) return s;
  pings_.clear();
  awaiting_ = 0;
  progress_ = last_input_ = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    table_.Reset();
    connected_ = true;
    // Barriers asked for before this connection were answered (failed) by the loss.
    sync_sent_ = sync_requested_;
  }
  MaybeUp();
  return Status::OK();
}

void RedisPubSubListener::MaybeUp() {
  {
    std::lock_guard lock(mu_);
    if (up_ || !connected_ || !table_.AllActive()) return;
    up_ = true;
    first_attempt_done_ = true;
  }
  cv_.notify_all();
  if (reported_up_) return;
  reported_up_ = true;
  if (ever_up_ && sink_.connection_change) sink_.connection_change(true);
  ever_up_ = true;
}

void RedisPubSubListener::Lost(const Status& why) {
  if (connection_.connected()) connection_.Drop(why);
  pings_.clear();
  awaiting_ = 0;
  {
    std::lock_guard lock(mu_);
    connected_ = false;
    up_ = false;
    ++epoch_;
    last_error_ = why;
    sync_sent_ = sync_requested_;
  }
  cv_.notify_all();
  if (!reported_up_) return;
  reported_up_ = false;
  if (sink_.connection_change) sink_.connection_change(false);
}

Status RedisPubSubListener::SendChanges() {
  static constexpr std::string_view kSubscribe[2] = {"SUBSCRIBE", "PSUBSCRIBE"};
  static constexpr std::string_view kUnsubscribe[2] = {"UNSUBSCRIBE", "PUNSUBSCRIBE"};
  RedisPubSubTable::Changes changes;
  uint64_t barrier = 0;
  {
    std::lock_guard lock(mu_);
    changes = table_.TakeChanges();
    if (sync_requested_ > sync_sent_) barrier = sync_sent_ = sync_requested_;
  }
  const auto now = std::chrono::steady_clock::now();
  const bool health_ping =
      ping_interval_.count() > 0 && awaiting_ == 0 && now - last_input_ >= ping_interval_;
  if (changes.empty() && barrier == 0 && !health_ping) return Status::OK();

  std::vector<std::string_view> args;
  auto append = [&](std::string_view command, const std::vector<std::string>& names) -> Status {
    for (size_t i = 0; i < names.size(); i += kNamesPerCommand) {
      args.assign(1, command);
      const size_t end = std::min(names.size(), i + kNamesPerCommand);
      args.insert(args.end(), names.begin() + static_cast<ptrdiff_t>(i),
                  names.begin() + static_cast<ptrdiff_t>(end));
      if (Status s = connection_.Append(args); !s.ok()) return s;
    }
    return Status::OK();
  };
  // A name is in one list at most (TakeChanges), so the commands' order does not matter.
  for (size_t k = 0; k < 2; ++k) {
    if (Status s = append(kUnsubscribe[k], changes.unsubscribe[k]); !s.ok()) return s;
    if (Status s = append(kSubscribe[k], changes.subscribe[k]); !s.ok()) return s;
  }
  size_t replies = changes.replies();
  // After the subscription commands: a barrier covers them too.
  if (barrier != 0 || health_ping) {
    const std::string_view ping[] = {"PING"};
    if (Status s = connection_.Append(ping); !s.ok()) return s;
    pings_.push_back(barrier);
    ++replies;
  }
  if (awaiting_ == 0) progress_ = now;
  awaiting_ += replies;
  return connection_.Flush();
}

Status RedisPubSubListener::Wait() {
  SteadyTime deadline = SteadyTime::max();
  if (awaiting_ > 0) {
    deadline =
        progress_ + std::chrono::duration_cast<SteadyTime::duration>(options_.command_timeout);
  } else if (ping_interval_.count() > 0) {
    deadline = last_input_ + std::chrono::duration_cast<SteadyTime::duration>(ping_interval_);
  }
  pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {connection_.fd(), POLLIN, 0}};
  const int timeout = deadline == SteadyTime::max() ? -1 : PollMillis(deadline);
  if (poll(fds, 2, timeout) < 0 && errno != EINTR) {
    const int error = errno;
    return Status::Unavailable(fmt::format("redis {}: subscriber connection: poll: {}",
                                           connection_.server(),
                                           std::system_category().message(error)));
  }
  if ((fds[0].revents & POLLIN) != 0) {
    uint64_t count = 0;
    const ssize_t n = read(wake_fd_, &count, sizeof(count));  // resets the eventfd
    (void)n;  // EAGAIN: another read took it; nothing to reset
  }
  if ((fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    if (Status s = connection_.ReadInput(); !s.ok()) return s;
    progress_ = last_input_ = std::chrono::steady_clock::now();
    if (Status s = HandleReplies(); !s.ok()) return s;
  }
  if (awaiting_ > 0 &&
      std::chrono::steady_clock::now() >=
          progress_ + std::chrono::duration_cast<SteadyTime::duration>(options_.command_timeout)) {
    return Status::Unavailable(fmt::format(
        "redis {}: subscriber connection: no reply within {} ms", connection_.server(),
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.command_timeout).count()));
  }
  return Status::OK();
}

void RedisPubSubListener::Pause(Duration delay) {
  pollfd fd = {wake_fd_, POLLIN, 0};
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<SteadyTime::duration>(delay);
  if (poll(&fd, 1, PollMillis(until)) > 0) {
    uint64_t count = 0;
    const ssize_t n = read(wake_fd_, &count, sizeof(count));
    (void)n;  // as in Wait()
  }
}

Status RedisPubSubListener::HandleReplies() {
  for (;;) {
    Result<RedisReplyPtr> reply = connection_.NextReply();
    if (!reply.ok()) return std::move(reply).status();
    if (*reply == nullptr) return Status::OK();
    if (Status s = Handle(**reply); !s.ok()) return s;
  }
}

Status RedisPubSubListener::Handle(const redisReply& r) {
  if (r.type == REDIS_REPLY_ERROR) return connection_.ReplyError(r, "subscriber connection");
  // A PING is answered "PONG" while nothing is subscribed, ["pong", ""] once something is.
  if (r.type == REDIS_REPLY_STATUS && Text(r) == "PONG") return Pong();
  const std::string_view kind =
      r.type == REDIS_REPLY_ARRAY && r.elements >= 1 ? Text(*r.element[0]) : std::string_view();
  const auto at = [&](size_t i) { return Text(*r.element[i]); };
  if (kind == "message" && r.elements == 3) {
    if (sink_.message) sink_.message(at(1), at(2));
    return Status::OK();
  }
  if (kind == "pmessage" && r.elements == 4) {
    if (sink_.pattern_message) sink_.pattern_message(at(1), at(2), at(3));
    return Status::OK();
  }
  if ((kind == "subscribe" || kind == "unsubscribe") && r.elements == 3) {
    return Acknowledge(SubscriptionKind::kChannel, at(1));
  }
  if ((kind == "psubscribe" || kind == "punsubscribe") && r.elements == 3) {
    return Acknowledge(SubscriptionKind::kPattern, at(1));
  }
  if (kind == "pong") return Pong();
  return Status::Internal(fmt::format("redis {}: subscriber connection: unexpected reply (type {})",
                                      connection_.server(), r.type));
}

Status RedisPubSubListener::Acknowledge(SubscriptionKind kind, std::string_view name) {
  {
    std::lock_guard lock(mu_);
    if (awaiting_ == 0 || !table_.Ack(kind, name)) {
      return Status::Internal(
          fmt::format("redis {}: subscriber connection: a reply for '{}' nothing asked for",
                      connection_.server(), name));
    }
  }
  --awaiting_;
  cv_.notify_all();
  MaybeUp();
  return Status::OK();
}

Status RedisPubSubListener::Pong() {
  if (pings_.empty() || awaiting_ == 0) {
    return Status::Internal(fmt::format("redis {}: subscriber connection: a PONG nothing asked for",
                                        connection_.server()));
  }
  const uint64_t barrier = pings_.front();
  pings_.pop_front();
  --awaiting_;
  if (barrier == 0) return Status::OK();  // a health check
  {
    std::lock_guard lock(mu_);
    sync_done_ = std::max(sync_done_, barrier);
  }
  cv_.notify_all();
  return Status::OK();
}

}  // namespace larder::coord
