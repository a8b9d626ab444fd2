// The in-process PubSub: argument checks, dispatcher threads, and the factory.
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
#include "pubsub_hub.h"
#include "pubsub_subscriber.h"

namespace larder {
namespace {

class LocalPubSub final : public PubSub {
 public:
  explicit LocalPubSub(const PubSubOptions& options)
      : options_(options), hub_(std::make_shared<coord::Hub>()) {}

  ~LocalPubSub() override {
    hub_->Stop();
    for (std::thread& t : threads_) t.join();
  }

  Status Start() {
    try {
      for (size_t i = 0; i < options_.dispatcher_threads; ++i) {
        threads_.emplace_back([hub = hub_.get()] { hub->Dispatch(); });
      }
    } catch (const std::system_error& e) {
      return Status::ResourceExhausted(fmt::format("starting dispatcher threads: {}", e.what()));
    }
    return Status::OK();
  }

  Result<uint64_t> Publish(std::string_view channel, std::string_view payload) override {
    return hub_->Publish(channel, payload);
  }

  Result<ChannelSubscription> Subscribe(std::string_view channel, MessageHandler handler,
                                        const SubscribeOptions& options) override {
    return Add(channel, std::nullopt, std::move(handler), options);
  }

  Result<ChannelSubscription> PSubscribe(std::string_view pattern, MessageHandler handler,
                                         const SubscribeOptions& options) override {
    Result<index::GlobPattern> glob = index::GlobPattern::Compile(pattern);
    if (!glob.ok()) return glob.status();
    return Add(pattern, std::move(*glob), std::move(handler), options);
  }

  Status Flush() override { return hub_->Flush(); }

 private:
  Result<ChannelSubscription> Add(std::string_view name, std::optional<index::GlobPattern> glob,
                                  MessageHandler handler, const SubscribeOptions& options) {
    if (!handler) return Status::InvalidArgument("handler: must not be empty");
    const size_t capacity =
        options.queue_capacity != 0 ? options.queue_capacity : options_.queue_capacity;
    auto s = std::make_shared<coord::Subscriber>(hub_, std::string(name), glob.has_value(),
                                                 std::move(handler), capacity);
    hub_->Register(s, std::move(glob));
    return ChannelSubscription(std::move(s));
  }

  // Constant after construction.
  const PubSubOptions options_;
  const std::shared_ptr<coord::Hub> hub_;  // shared: subscriptions may outlive this object
  std::vector<std::thread> threads_;
};

}  // namespace

Result<std::unique_ptr<PubSub>> NewLocalPubSub(const PubSubOptions& options) {
  if (options.queue_capacity == 0) {
    return Status::InvalidArgument("queue_capacity: must be at least 1, got 0");
  }
  if (options.dispatcher_threads == 0) {
    return Status::InvalidArgument("dispatcher_threads: must be at least 1, got 0");
  }
  auto pubsub = std::make_unique<LocalPubSub>(options);
  if (Status s = pubsub->Start(); !s.ok()) return s;
  return std::unique_ptr<PubSub>(std::move(pubsub));
}

}  // namespace larder
