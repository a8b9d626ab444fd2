// EventHub: a cache's listeners and their delivery (rules in include/larder/events.h).
//
// The listener list is copy-on-write: emitters copy a shared_ptr under a short lock and call
// listeners without it. Each slot counts calls in progress so that unsubscribing can wait for
// them (except a call on the unsubscribing thread itself, which would deadlock).
#pragma once

#include "base/private.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "larder/events.h"

namespace larder::internal {

class EventHub : public std::enable_shared_from_this<EventHub> {
 public:
  Subscription Subscribe(EventListener listener, EventMask mask);
  // Unsubscribes `id`; see Subscription::Reset for the waiting rule.
  void Remove(uint64_t id) noexcept;

  // Cheap test to skip building events nobody listens to.
  bool Wants(EventMask mask) const noexcept {
    return (mask_.load(std::memory_order_relaxed) & mask) != 0;
  }
  // Calls every listener subscribed to ev.type. Exceptions are contained: counted and reported
  // to the other listeners as kError events.
  void Emit(const CacheEvent& ev) noexcept;

  uint64_t listener_errors() const noexcept {
    return listener_errors_.load(std::memory_order_relaxed);
  }

 private:
  struct Slot {
    uint64_t id = 0;
    EventMask mask = 0;
    EventListener fn;
    std::atomic<int> calls{0};
    std::atomic<bool> removed{false};
  };
  using SlotList = std::vector<std::shared_ptr<Slot>>;

  void Deliver(const SlotList& slots, const CacheEvent& ev, const Slot* skip) noexcept;

  mutable std::mutex mu_;
  std::shared_ptr<const SlotList> slots_ = std::make_shared<const SlotList>();
  uint64_t next_id_ = 1;
  std::atomic<EventMask> mask_{0};
  std::atomic<uint64_t> listener_errors_{0};
};

}  // namespace larder::internal
