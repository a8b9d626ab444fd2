// Local pub/sub: the PubSub contract (pubsub_contract.h) in process: channels and patterns, RAII
// unsubscribe, bounded queues, ordering under threads.
#include <doctest/doctest.h>

#include "larder/coord.h"
#include "pubsub_contract.h"
#include "pubsub_dispatch_contract.h"

namespace larder {
namespace {

contract::PubSubUnderTest Local() {
  return {.open = [](const PubSubOptions& delivery) { return NewLocalPubSub(delivery); },
          .over_connection = false};
}

}  // namespace

TEST_CASE("PubSub (local): a channel's subscribers get its messages; Publish counts them") {
  contract::ChannelSubscribersGetItsMessages(Local());
}

TEST_CASE("PubSub (local): pattern subscriptions match Redis globs and name the pattern") {
  contract::PatternSubscriptionsMatchRedisGlobs(Local());
}

TEST_CASE("PubSub (local): destroying or moving over a handle unsubscribes") {
  contract::DestroyingOrMovingOverAHandleUnsubscribes(Local());
}

TEST_CASE("PubSub (local): Reset waits for a running call and releases what the handler captured") {
  contract::ResetWaitsForARunningCall(Local());
}

TEST_CASE("PubSub (local): a handler may unsubscribe itself, publish, subscribe, but not Flush") {
  contract::HandlerMayUnsubscribeItselfPublishAndSubscribe(Local());
}

TEST_CASE("PubSub (local): a blocked subscriber drops its oldest messages; the others flow") {
  contract::BlockedSubscriberDropsOldest(Local(), /*publishers=*/2, /*per_publisher=*/2000,
                                         /*slow_capacity=*/16);
}

TEST_CASE("PubSub (local): a throwing handler is counted and keeps receiving") {
  contract::ThrowingHandlerIsCountedAndKeepsReceiving(Local());
}

TEST_CASE("PubSub (local): a subscription may outlive its PubSub, which discards what is queued") {
  contract::SubscriptionMayOutliveItsPubSub(Local());
}

TEST_CASE("PubSub (local): zero capacities or threads and empty handlers are refused") {
  contract::RefusesZeroCapacitiesAndEmptyHandlers(Local());
}

}  // namespace larder
