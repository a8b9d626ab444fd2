// Subscription, the per-thread running-listener stack, and the CacheEvent hub's error policy.
#include "engine/event_hub.h"

namespace larder {

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    Reset();
    hub_ = std::move(other.hub_);
    id_ = other.id_;
  }
  return *this;
}

void Subscription::Reset() noexcept {
  if (hub_ == nullptr) return;
  std::shared_ptr<internal::SubscriptionOwner> hub = std::move(hub_);
  hub_ = nullptr;
  hub->Remove(id_);
}

namespace internal {

std::vector<const void*>& RunningListeners() {
  thread_local std::vector<const void*> running;
  return running;
}

std::shared_ptr<CacheEventHub> NewCacheEventHub() {
  return std::make_shared<CacheEventHub>(
      [](const CacheEvent& ev) { return EventBit(ev.type); },
      [](const CacheEvent& ev, const Status& error, CacheEvent* out) {
        if (ev.type == EventType::kError) return false;
        // `error` outlives the delivery of `out`: Deliver keeps it on its stack.
        out->type = EventType::kError;
        out->key = ev.key;
        out->error = &error;
        return true;
      });
}

}  // namespace internal
}  // namespace larder
