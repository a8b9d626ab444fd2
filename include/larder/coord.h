// Coordination primitives: rate limiting, locks, sessions and pub/sub behind interfaces with two
// kinds of implementation, in process (here) and over a Redis server (for many processes). Callers
// hold the interface, so moving from one process to many changes one constructor call.
//
// Thread safety: every method may be called from any thread. Ownership: factories return sole
// ownership; a ChannelSubscription may outlive the PubSub it came from.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/clock.h"
#include "larder/status.h"

namespace larder {

struct RateLimitResult {
  bool allowed = false;
  uint64_t remaining = 0;  // requests still allowed in the current window
  Duration reset_in{};     // until the window frees a request again (0 when nothing is counted)
};

enum class RateLimitMode : uint8_t {
  // Counts per window of `window` starting at the key's first request (the seed's semantics);
  // cheap, but allows up to 2 x limit across a window boundary.
  kFixedWindow = 0,
  // At most `limit` requests in any interval of length `window` (a log of the last `limit`
  // request times per key): exact, O(limit) memory per key.
  kSlidingWindow = 1,
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts one request for `key` if it is allowed. InvalidArgument when limit is 0 or window is
  // not positive, naming which.
  virtual Result<RateLimitResult> CheckRateLimit(std::string_view key, uint64_t limit,
                                                 Duration window) = 0;
  // What CheckRateLimit would answer, without counting. A key never checked has `limit` left.
  virtual Result<RateLimitResult> GetRateLimitInfo(std::string_view key, uint64_t limit) = 0;
};

// In-process rate limiter: exact under concurrent callers (one lock per key stripe). Keys whose
// windows have passed are dropped as the limiter is used. `clock` null = SystemClock().
std::unique_ptr<RateLimiter> NewLocalRateLimiter(RateLimitMode mode,
                                                 std::shared_ptr<Clock> clock = nullptr);

class LockService {
 public:
  virtual ~LockService() = default;
  // Takes the lock `key` for `ttl` and returns its token (32 hex digits from the operating
  // system's CSPRNG, unguessable), or nullopt while someone holds it. A lock whose ttl passed is
  // free: its holder is presumed dead. InvalidArgument when ttl is not positive.
  virtual Result<std::optional<std::string>> AcquireLock(std::string_view key, Duration ttl) = 0;
  // Releases the lock when `token` is its holder's and it has not expired; false otherwise
  // (wrong token, expired, not held).
  virtual Result<bool> ReleaseLock(std::string_view key, std::string_view token) = 0;
  // Moves the holder's deadline to now + ttl; false when `token` does not hold the lock.
  virtual Result<bool> ExtendLock(std::string_view key, std::string_view token, Duration ttl) = 0;
};

// In-process locks. `clock` null = SystemClock().
std::unique_ptr<LockService> NewLocalLockService(std::shared_ptr<Clock> clock = nullptr);

struct Session {
  std::string id;
  std::string user_id;
  std::string data;
  Duration expires_in{};  // until the session expires unless it is used again
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  // Creates a session of `user_id` holding `data` that expires `ttl` after its last use, and
  // returns its id (32 hex digits from the operating system's CSPRNG, unguessable).
  // InvalidArgument when user_id is empty or ttl is not positive, naming which.
  virtual Result<std::string> CreateSession(std::string_view user_id, std::string_view data,
                                            Duration ttl) = 0;
  // The session and, being a use, moves its deadline to now + its ttl (sliding expiry).
  // nullopt (not an error) for an unknown, destroyed or expired id.
  virtual Result<std::optional<Session>> GetSession(std::string_view session_id) = 0;
  // Moves the deadline to now + ttl without reading; false when there is no live session.
  virtual Result<bool> TouchSession(std::string_view session_id) = 0;
  // Ends the session; false when there was no live session.
  virtual Result<bool> DestroySession(std::string_view session_id) = 0;
  // The user's live sessions, oldest first. Does not extend them. InvalidArgument for an empty
  // user_id; an unknown user has none.
  virtual Result<std::vector<Session>> ListUserSessions(std::string_view user_id) = 0;
  // Ends every session of the user ("log out everywhere"); returns how many were live.
  // InvalidArgument for an empty user_id.
  virtual Result<uint64_t> DestroyUserSessions(std::string_view user_id) = 0;
  // Sessions held, including expired ones not dropped yet: for watching memory, not for
  // counting users.
  virtual Result<uint64_t> ApproximateSize() = 0;
};

// In-process sessions. Expired sessions are never returned; they are dropped when met, when
// their user's sessions are listed, and by a sweep of a stripe of the store once it has seen as
// many operations as it holds sessions, so the store stays within about twice its live size.
// `clock` null = SystemClock().
std::unique_ptr<SessionStore> NewLocalSessionStore(std::shared_ptr<Clock> clock = nullptr);

// One published message as a handler sees it. The views are valid during the call only.
struct PubSubMessage {
  std::string_view channel;
  std::string_view payload;
  std::string_view pattern;  // the pattern that matched (PSubscribe); empty for Subscribe
};

using MessageHandler = std::function<void(const PubSubMessage&)>;

struct ChannelSubscriptionStats {
  uint64_t delivered = 0;  // handler calls made (including ones that threw)
  uint64_t dropped = 0;    // messages lost because the queue was full (the oldest go first)
  uint64_t failed = 0;     // handler calls that threw (the exception is swallowed)
  uint64_t queued = 0;     // messages waiting now
};

namespace internal {
// A PubSub implementation's side of a ChannelSubscription.
class ChannelSubscriptionSlot {
 public:
  virtual ~ChannelSubscriptionSlot() = default;
  // Unsubscribes: no handler call starts after it returns, and it waits for a running call
  // unless called from that call.
  virtual void Cancel() noexcept = 0;
  virtual ChannelSubscriptionStats Stats() const noexcept = 0;
};
}  // namespace internal

// Keeps a handler subscribed while alive. Move-only. Destroying it (or Reset()) unsubscribes and
// waits until a call of the handler running on another thread has returned, so what the handler
// captures may be destroyed right after; called from inside the handler, it does not wait for
// that call. Messages still queued for it are discarded.
class ChannelSubscription {
 public:
  ChannelSubscription() noexcept = default;
  // For PubSub implementations.
  explicit ChannelSubscription(std::shared_ptr<internal::ChannelSubscriptionSlot> slot) noexcept
      : slot_(std::move(slot)) {}
  ChannelSubscription(ChannelSubscription&& other) noexcept = default;
  ChannelSubscription& operator=(ChannelSubscription&& other) noexcept {
    if (this != &other) {
      Reset();
      slot_ = std::move(other.slot_);
    }
    return *this;
  }
  ChannelSubscription(const ChannelSubscription&) = delete;
  ChannelSubscription& operator=(const ChannelSubscription&) = delete;
  ~ChannelSubscription() { Reset(); }

  void Reset() noexcept {
    if (slot_ == nullptr) return;
    std::shared_ptr<internal::ChannelSubscriptionSlot> slot = std::move(slot_);
    slot->Cancel();
  }
  bool active() const noexcept { return slot_ != nullptr; }
  // Counters since Subscribe; all zero once reset.
  ChannelSubscriptionStats Stats() const noexcept {
    return slot_ != nullptr ? slot_->Stats() : ChannelSubscriptionStats{};
  }

 private:
  std::shared_ptr<internal::ChannelSubscriptionSlot> slot_;
};

struct PubSubOptions {
  // Messages one subscription may have waiting (default for SubscribeOptions::queue_capacity).
  // A message arriving at a full queue drops the oldest waiting one and counts it in
  // ChannelSubscriptionStats::dropped: a slow subscriber loses old messages instead of slowing
  // publishers or growing without bound. Default 1024; must be at least 1.
  size_t queue_capacity = 1024;
  // Threads calling handlers. A subscription's handler runs on one thread at a time, in queue
  // order. A handler that blocks holds its thread: up to dispatcher_threads - 1 blocked handlers
  // leave the other subscriptions flowing. Default 2; must be at least 1.
  size_t dispatcher_threads = 2;
};

struct SubscribeOptions {
  size_t queue_capacity = 0;  // 0 = PubSubOptions::queue_capacity
};

// Publish/subscribe on named channels. Handlers run on the implementation's own threads, never
// on the publisher's; a handler may publish, subscribe and reset its own subscription. Each
// subscription is independent: one on a channel and one on a pattern matching it both get the
// message (as in Redis).
class PubSub {
 public:
  virtual ~PubSub() = default;
  // Queues the message for every subscription whose channel equals `channel` or whose pattern
  // matches it, and returns how many (as Redis PUBLISH; 0 is not an error). Never waits for a
  // handler. Messages from one thread reach each subscription in publish order.
  virtual Result<uint64_t> Publish(std::string_view channel, std::string_view payload) = 0;
  // Calls `handler` with every message published to exactly `channel`. InvalidArgument for an
  // empty handler.
  virtual Result<ChannelSubscription> Subscribe(std::string_view channel, MessageHandler handler,
                                                const SubscribeOptions& options) = 0;
  // Calls `handler` with every message whose channel matches `pattern` (Redis glob syntax:
  // * ? [a-z] [^a] \x). InvalidArgument for a malformed pattern or an empty handler.
  virtual Result<ChannelSubscription> PSubscribe(std::string_view pattern, MessageHandler handler,
                                                 const SubscribeOptions& options) = 0;
  // Blocks until every message queued before the call has been delivered, dropped or discarded.
  // FailedPrecondition when called from a handler of this PubSub (it would wait for itself).
  virtual Status Flush() = 0;

  Result<ChannelSubscription> Subscribe(std::string_view channel, MessageHandler handler) {
    return Subscribe(channel, std::move(handler), SubscribeOptions{});
  }
  Result<ChannelSubscription> PSubscribe(std::string_view pattern, MessageHandler handler) {
    return PSubscribe(pattern, std::move(handler), SubscribeOptions{});
  }
};

// In-process pub/sub. Destroying it discards undelivered messages (Flush() first to deliver
// them) and waits for running handlers. REQUIRES: not destroyed from one of its handlers.
// InvalidArgument for a zero capacity or thread count; ResourceExhausted when threads cannot
// be started.
Result<std::unique_ptr<PubSub>> NewLocalPubSub(const PubSubOptions& options = {});

}  // namespace larder
