// Subscriber: one in-process subscription's bounded queue, delivery state and unsubscribe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "larder/coord.h"

namespace larder::coord {

// A published message, shared by every queue it was put on.
struct Envelope {
  std::string channel;
  std::string payload;
};

class Subscriber;

// What a Subscriber unsubscribes from.
class SubscriberRegistry {
 public:
  virtual ~SubscriberRegistry() = default;
  // Stops offering messages to `s` (a publisher already holding it is refused by its
  // cancelled state instead).
  virtual void Unregister(const Subscriber* s) noexcept = 0;
};

// States, all guarded by mu_: idle, scheduled (in the dispatcher's ready list or being delivered
// by one dispatcher thread; only one at a time, which keeps queue order), cancelled (final).
// Message numbers: the i-th message queued gets seq i (from 1). Messages leave the queue in seq
// order, by delivery or by overflow, so everything up to taken_ has left it, and everything up to
// done_through() has also finished: the running call, if any, is the only unfinished one below.
class Subscriber final : public internal::ChannelSubscriptionSlot {
 public:
  // `name` is the channel, or the pattern when `is_pattern`.
  Subscriber(std::weak_ptr<SubscriberRegistry> registry, std::string name, bool is_pattern,
             MessageHandler handler, size_t capacity)
      : registry_(std::move(registry)),
        name_(std::move(name)),
        is_pattern_(is_pattern),
        handler_(std::move(handler)),
        capacity_(capacity) {}

  const std::string& name() const noexcept { return name_; }
  bool is_pattern() const noexcept { return is_pattern_; }

  // Publisher side: queues `m` (dropping the oldest waiting message when full). False when the
  // subscription is cancelled. Sets *schedule when the caller must hand it to a dispatcher.
  bool Enqueue(const std::shared_ptr<const Envelope>& m, bool* schedule);
  // Dispatcher side: delivers up to `max` messages in order. True when more are waiting and the
  // caller must schedule it again; false leaves it idle.
  bool DeliverSome(size_t max);
  // The seq of the last message queued so far, for Flush.
  uint64_t last_queued() const;
  // Blocks until every message up to `seq` has finished, or the subscription is cancelled and no
  // call of its handler is running. REQUIRES: not called from this subscription's handler.
  void WaitDone(uint64_t seq);
  // Cancels without unregistering or waiting: for the PubSub's shutdown.
  void Discard() noexcept;

  void Cancel() noexcept override;
  ChannelSubscriptionStats Stats() const noexcept override;

 private:
  struct Item {
    std::shared_ptr<const Envelope> message;
    uint64_t seq = 0;
  };

  uint64_t done_through() const { return running_ != 0 ? running_ - 1 : taken_; }
  bool Call(const Envelope& m) noexcept;  // false when the handler threw

  // Constant after construction, except that Cancel clears handler_ once no call can run: a
  // dispatcher reads it unlocked, but only while running_ is set.
  const std::weak_ptr<SubscriberRegistry> registry_;
  const std::string name_;
  const bool is_pattern_;
  MessageHandler handler_;
  const size_t capacity_;

  // Guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable progress_;  // a message finished, left the queue, or cancelled
  std::deque<Item> queue_;
  uint64_t queued_seq_ = 0;  // seq of the last message queued
  uint64_t taken_ = 0;       // seq of the last message that left the queue
  uint64_t running_ = 0;     // seq of the message whose handler call is running; 0 if none
  bool scheduled_ = false;
  bool cancelled_ = false;
  ChannelSubscriptionStats stats_;
};

}  // namespace larder::coord
