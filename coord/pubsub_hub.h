// Hub: pub/sub routes (channels, patterns) and the dispatchers' ready list, for the in-process
// PubSub and for the Redis one (which routes what its subscriber connection receives).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "index/glob.h"
#include "larder/status.h"
#include "pubsub_subscriber.h"
#include "striped_map.h"

namespace larder::coord {

// Publishing takes one channel stripe's lock and the pattern list's lock only long enough to
// collect the matching subscribers; queueing happens after. That is safe because unsubscribing
// cancels the Subscriber under its own lock, which refuses later Enqueue calls.
//
// Lock order: a channel stripe or patterns_mu_, then a Subscriber's, then ready_mu_.
class Hub final : public SubscriberRegistry {
 public:
  // `glob` is set for a pattern subscription (s->name() is then its text).
  void Register(std::shared_ptr<Subscriber> s, std::optional<index::GlobPattern> glob);
  void Unregister(const Subscriber* s) noexcept override;

  // Queues the message for every match; returns how many accepted it.
  uint64_t Publish(std::string_view channel, std::string_view payload);
  // Queues the message for the subscriptions to exactly `channel` only: where a server matched
  // the message (a Redis "message"), patterns get their own copy.
  uint64_t PublishToChannel(std::string_view channel, std::string_view payload);
  // Queues the message for the pattern subscriptions whose pattern text is `pattern` only (a
  // Redis "pmessage": the server did the matching).
  uint64_t PublishToPattern(std::string_view pattern, std::string_view channel,
                            std::string_view payload);
  // True on one of this Hub's dispatcher threads (where Flush would wait for itself).
  bool InDispatcher() const noexcept;
  // Waits until each subscriber has finished the messages it had queued at the call.
  Status Flush();
  // A dispatcher thread's loop: delivers scheduled subscribers' messages until Stop().
  void Dispatch();
  // Cancels every subscription (discarding queued messages) and ends every Dispatch().
  void Stop();

 private:
  struct Pattern {
    index::GlobPattern glob;
    std::shared_ptr<Subscriber> subscriber;
  };
  using Subscribers = std::vector<std::shared_ptr<Subscriber>>;

  void Schedule(std::shared_ptr<Subscriber> s);
  Subscribers All();
  Subscribers OfChannel(std::string_view channel);
  // Queues the message for `matched`; returns how many accepted it.
  uint64_t Queue(Subscribers matched, std::string_view channel, std::string_view payload);

  StripedMap<Subscribers> channels_;  // exact channel -> its subscribers

  std::mutex patterns_mu_;
  std::vector<Pattern> patterns_;  // guarded by patterns_mu_; each is matched on every Publish

  std::mutex ready_mu_;
  std::condition_variable ready_cv_;
  std::deque<std::shared_ptr<Subscriber>> ready_;  // guarded by ready_mu_: scheduled, in turn
  bool stopping_ = false;                          // guarded by ready_mu_
};

}  // namespace larder::coord
