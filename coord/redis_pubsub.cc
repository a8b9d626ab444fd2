// The Redis PubSub: PUBLISH on the pool; a listener's connection feeds the local Hub's queues.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "index/glob.h"
#include "larder/coord.h"
#include "larder/redis.h"
#include "pubsub_hub.h"
#include "pubsub_subscriber.h"
#include "redis_connection.h"
#include "redis_pool.h"
#include "redis_pubsub_listener.h"

namespace larder {
namespace {

using coord::RedisConnection;
using coord::RedisReplyPtr;
using coord::SubscriptionKind;

SubscriptionKind KindOf(const coord::Subscriber& s) {
  return s.is_pattern() ? SubscriptionKind::kPattern : SubscriptionKind::kChannel;
}

// What subscriptions share with their PubSub, and may outlive it in: the routes and queues (a
// Hub, as in process) and the listener that feeds them. Unsubscribing leaves both.
class RedisPubSubCore final : public coord::SubscriberRegistry {
 public:
  RedisPubSubCore(const RedisOptions& redis, const RedisPubSubOptions& options)
      : listener_(
            redis, options.ping_interval,
            coord::RedisPubSubSink{[this](std::string_view channel, std::string_view payload) {
                                     hub_.PublishToChannel(channel, payload);
                                   },
                                   [this](std::string_view pattern, std::string_view channel,
                                          std::string_view payload) {
                                     hub_.PublishToPattern(pattern, channel, payload);
                                   },
                                   options.on_connection_change}) {}

  void Unregister(const coord::Subscriber* s) noexcept override {
    hub_.Unregister(s);
    listener_.Remove(KindOf(*s), s->name());
  }

  coord::Hub& hub() { return hub_; }
  coord::RedisPubSubListener& listener() { return listener_; }

 private:
  coord::Hub hub_;  // before listener_: the listener's sink uses it
  coord::RedisPubSubListener listener_;
};

class RedisPubSub final : public PubSub {
 public:
  RedisPubSub(std::unique_ptr<coord::RedisPool> pool, const RedisOptions& redis,
              const RedisPubSubOptions& options)
      : options_(options.delivery),
        pool_(std::move(pool)),
        core_(std::make_shared<RedisPubSubCore>(redis, options)) {}

  ~RedisPubSub() override {
    core_->listener().Stop();  // first: nothing is queued after this
    core_->hub().Stop();
    for (std::thread& t : threads_) t.join();
  }

  Status Start() {
    try {
      for (size_t i = 0; i < options_.dispatcher_threads; ++i) {
        threads_.emplace_back([hub = &core_->hub()] { hub->Dispatch(); });
      }
    } catch (const std::system_error& e) {
      return Status::ResourceExhausted(fmt::format("starting dispatcher threads: {}", e.what()));
    }
    return core_->listener().Start();
  }

  Result<uint64_t> Publish(std::string_view channel, std::string_view payload) override {
    return pool_->With([&](RedisConnection& c) -> Result<uint64_t> {
      Result<RedisReplyPtr> reply = c.Command({"PUBLISH", channel, payload});
      if (!reply.ok()) return std::move(reply).status();
      if ((*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer >= 0) {
        return static_cast<uint64_t>((*reply)->integer);
      }
      return Status::Internal(
          fmt::format("redis {}: PUBLISH: unexpected reply (type {})", c.server(), (*reply)->type));
    });
  }

  Result<ChannelSubscription> Subscribe(std::string_view channel, MessageHandler handler,
                                        const SubscribeOptions& options) override {
    return Add(channel, std::nullopt, std::move(handler), options);
  }

  Result<ChannelSubscription> PSubscribe(std::string_view pattern, MessageHandler handler,
                                         const SubscribeOptions& options) override {
    // The server matches; compiling here refuses what the in-process PubSub refuses.
    Result<index::GlobPattern> glob = index::GlobPattern::Compile(pattern);
    if (!glob.ok()) return glob.status();
    return Add(pattern, std::move(*glob), std::move(handler), options);
  }

  Status Flush() override {
    if (core_->hub().InDispatcher()) {
      return Status::FailedPrecondition("Flush: called from a handler, it would wait for itself");
    }
    const Status synced = core_->listener().Sync();
    if (synced.code() == Status::Code::kFailedPrecondition) return synced;
    // Even when the barrier failed, what was received is delivered.
    const Status delivered = core_->hub().Flush();
    return synced.ok() ? delivered : synced;
  }

 private:
  Result<ChannelSubscription> Add(std::string_view name, std::optional<index::GlobPattern> glob,
                                  MessageHandler handler, const SubscribeOptions& options) {
    if (!handler) return Status::InvalidArgument("handler: must not be empty");
    const size_t capacity =
        options.queue_capacity != 0 ? options.queue_capacity : options_.queue_capacity;
    const bool pattern = glob.has_value();
    auto s = std::make_shared<coord::Subscriber>(std::weak_ptr<coord::SubscriberRegistry>(core_),
                                                 std::string(name), pattern, std::move(handler),
                                                 capacity);
    // Routed before Redis confirms: nothing received after the confirmation can miss it.
    core_->hub().Register(s, std::move(glob));
    Status confirmed = core_->listener().Add(KindOf(*s), name);
    if (!confirmed.ok()) {
      s->Cancel();  // unroutes, uncounts, and waits out a call a shared subscription started
      return confirmed;
    }
    return ChannelSubscription(std::move(s));
  }

  // Constant after construction.
  const PubSubOptions options_;
  const std::unique_ptr<coord::RedisPool> pool_;
  const std::shared_ptr<RedisPubSubCore> core_;  // shared: subscriptions may outlive this
  std::vector<std::thread> threads_;
};

}  // namespace

Result<std::unique_ptr<PubSub>> NewRedisPubSub(const RedisOptions& redis,
                                               const RedisPubSubOptions& options) {
  if (options.delivery.queue_capacity == 0) {
    return Status::InvalidArgument("delivery.queue_capacity: must be at least 1, got 0");
  }
  if (options.delivery.dispatcher_threads == 0) {
    return Status::InvalidArgument("delivery.dispatcher_threads: must be at least 1, got 0");
  }
  if (options.ping_interval.count() < 0) {
    return Status::InvalidArgument(fmt::format("ping_interval: must not be negative, got {} ns",
                                               options.ping_interval.count()));
  }
  Result<std::unique_ptr<coord::RedisPool>> pool = coord::RedisPool::Open(redis);
  if (!pool.ok()) return std::move(pool).status();
  auto pubsub = std::make_unique<RedisPubSub>(*std::move(pool), redis, options);
  if (Status s = pubsub->Start(); !s.ok()) return s;
  return std::unique_ptr<PubSub>(std::move(pubsub));
}

}  // namespace larder
