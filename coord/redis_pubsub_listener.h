// RedisPubSubListener: the Redis PubSub's subscriber connection and its thread. It keeps the
// connection SUBSCRIBEd and PSUBSCRIBEd to the union of the local subscriptions, hands what
// arrives to a sink, reconnects with back-off and subscribes again, and answers PING barriers.
//
// Thread safety: every public method may be called from any thread; where one must not be called
// from the listener thread (the sink's callbacks run there), it says so.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "larder/redis.h"
#include "larder/status.h"
#include "redis_connection.h"
#include "redis_pubsub_table.h"

namespace larder::coord {

// Where the listener thread puts what it receives. Called without any listener lock held.
struct RedisPubSubSink {
  // A message on a channel subscribed to by name (a Redis "message").
  std::function<void(std::string_view channel, std::string_view payload)> message;
  // A message on a channel matching a subscribed pattern (a Redis "pmessage").
  std::function<void(std::string_view pattern, std::string_view channel, std::string_view payload)>
      pattern_message;
  // The connection was lost (false), or is back with every subscription in place (true); never
  // called for the first connection. May be empty.
  std::function<void(bool connected)> connection_change;
};

// The thread waits in poll(2) on the socket and on an eventfd that callers write to wake it:
// no polling interval, and shutdown, new subscriptions and barriers are seen at once. It alone
// uses the connection. Liveness: when replies are awaited and nothing arrives for
// command_timeout, the connection is dropped; an idle connection is PINGed every
// `ping_interval` (0 = never), so a vanished server is noticed within about
// ping_interval + command_timeout.
class RedisPubSubListener {
 public:
  RedisPubSubListener(const RedisOptions& options, Duration ping_interval, RedisPubSubSink sink);
  // Stop().
  ~RedisPubSubListener();
  RedisPubSubListener(const RedisPubSubListener&) = delete;
  RedisPubSubListener& operator=(const RedisPubSubListener&) = delete;

  // Starts the thread and waits for its first connection. Returns that connection's error when
  // it fails (the thread is then stopped), ResourceExhausted when no thread can be started.
  Status Start();
  // Ends the thread and closes the connection. Idempotent. REQUIRES: not on the listener thread.
  void Stop() noexcept;

  // Counts one more local subscription to `name` and returns once Redis has confirmed the
  // subscription, at once when it already had. Unavailable when the connection is down or is
  // lost before the confirmation; FailedPrecondition on the listener thread (it would wait for
  // itself). Either way the count stays: the caller undoes it with Remove.
  Status Add(SubscriptionKind kind, std::string_view name);
  // Counts one local subscription to `name` less; the last one unsubscribes in Redis (without
  // waiting for it).
  void Remove(SubscriptionKind kind, std::string_view name) noexcept;
  // Sends a PING and waits for its answer. The server answers in order, so everything it had
  // sent this connection before (every message published before the PING reached it) has been
  // given to the sink by then. Unavailable when the connection is down or is lost first;
  // FailedPrecondition on the listener thread.
  Status Sync();

  // True on the listener thread (in the sink's callbacks).
  bool OnListenerThread() const noexcept;

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;

  void Run();
  // Opens the connection and starts over: nothing subscribed, nothing awaited.
  Status Connect();
  // Sends what the table wants changed, barrier PINGs asked for and a health PING when due.
  Status SendChanges();
  // Waits for input, a wake-up or the next deadline; reads and handles what came.
  Status Wait();
  // Waits for a wake-up or `delay` while disconnected.
  void Pause(Duration delay);
  Status HandleReplies();
  Status Handle(const redisReply& reply);
  Status Acknowledge(SubscriptionKind kind, std::string_view name);
  Status Pong();
  // Takes the connection down after `why`: waiters fail, the sink hears false when it had
  // heard (or assumed) true.
  void Lost(const Status& why);
  // Once connected and every wanted name is active: marks the connection up and tells waiters
  // and the sink.
  void MaybeUp();
  void Wake() const noexcept;
  Status Down() const;  // REQUIRES: mu_ held

  // Constant after construction (wake_fd_ after Start).
  const RedisOptions options_;
  const Duration ping_interval_;
  const RedisPubSubSink sink_;
  int wake_fd_ = -1;  // eventfd
  std::thread thread_;

  // Used by the listener thread only.
  RedisConnection connection_;
  std::deque<uint64_t> pings_;  // PINGs sent, oldest first: the barrier each answers, 0 for none
  size_t awaiting_ = 0;         // replies the server owes (subscription commands and PINGs)
  SteadyTime progress_{};       // the last input, or when replies began to be awaited
  SteadyTime last_input_{};
  bool reported_up_ = false;  // the sink's view: up (the first connection counts as told)
  bool ever_up_ = false;

  // Guarded by mu_; cv_ signals every change waiters look at.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  RedisPubSubTable table_;
  bool stopping_ = false;
  bool first_attempt_done_ = false;
  bool connected_ = false;       // the socket is open (subscriptions may still be on their way)
  bool up_ = false;              // connected and, since connecting, every wanted name was active
  uint64_t epoch_ = 0;           // connections lost so far
  Status last_error_;            // why the connection was last lost or could not be opened
  uint64_t sync_requested_ = 0;  // barriers asked for (Sync's tickets)
  uint64_t sync_sent_ = 0;       // the last ticket a PING was sent for
  uint64_t sync_done_ = 0;       // the last ticket answered
};

}  // namespace larder::coord
