// EventHub<Event>: listeners of one event type and their delivery (rules in
// include/larder/events.h). Used for CacheEvent and RecordEvent.
//
// The listener list is copy-on-write: emitters copy a shared_ptr under a short lock and call
// listeners without it. Each slot counts calls in progress so that unsubscribing can wait for
// them (except a call on the unsubscribing thread itself, which would deadlock). A listener that
// throws is counted and reported to the others through `make_error`.
#pragma once

#include "base/private.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "larder/cache.h"
#include "larder/events.h"

namespace larder::internal {

// Slots whose listener runs on this thread (listeners may emit or unsubscribe).
std::vector<const void*>& RunningListeners();

template <typename Event>
class EventHub final : public SubscriptionOwner,
                       public std::enable_shared_from_this<EventHub<Event>> {
 public:
  using Listener = std::function<void(const Event&)>;
  // Builds the error event reported when a listener throws while handling `ev`; returns false
  // when `ev` is itself an error event (no report, no recursion).
  using ErrorFactory = std::function<bool(const Event& ev, const Status& error, Event* out)>;

  // `type_bit(ev)` is the EventMask bit of ev's type.
  EventHub(std::function<uint32_t(const Event&)> type_bit, ErrorFactory make_error)
      : type_bit_(std::move(type_bit)), make_error_(std::move(make_error)) {}

  Subscription Subscribe(Listener listener, uint32_t mask) {
    std::lock_guard lock(mu_);
    auto slot = std::make_shared<Slot>();
    slot->id = next_id_++;
    slot->mask = mask;
    slot->fn = std::move(listener);
    auto next = std::make_shared<SlotList>(*slots_);
    next->push_back(slot);
    Publish(std::move(next));
    return Subscription(this->shared_from_this(), slot->id);
  }

  void Remove(uint64_t id) noexcept override {
    std::shared_ptr<Slot> victim;
    {
      std::lock_guard lock(mu_);
      auto next = std::make_shared<SlotList>();
      for (const auto& s : *slots_) {
        if (s->id == id) {
          victim = s;
        } else {
          next->push_back(s);
        }
      }
      Publish(std::move(next));
    }
    if (victim == nullptr) return;
    victim->removed.store(true, std::memory_order_seq_cst);
    const auto& running = RunningListeners();
    const int own = static_cast<int>(
        std::count(running.begin(), running.end(), static_cast<const void*>(victim.get())));
    while (victim->calls.load(std::memory_order_seq_cst) > own) std::this_thread::yield();
  }

  // Cheap test to skip building events nobody listens to.
  bool Wants(uint32_t mask) const noexcept {
    return (mask_.load(std::memory_order_relaxed) & mask) != 0;
  }

  // Delivers `ev`; an event with a `remote` member is marked remote inside a RemoteScope.
  void Emit(const Event& ev) noexcept {
    std::shared_ptr<const SlotList> slots;
    {
      std::lock_guard lock(mu_);
      slots = slots_;
    }
    if constexpr (requires(Event e) { e.remote = true; }) {
      if (!ev.remote && RemoteScope::Active()) {
        Event marked = ev;
        marked.remote = true;
        Deliver(*slots, marked, nullptr);
        return;
      }
    }
    Deliver(*slots, ev, nullptr);
  }

  uint64_t listener_errors() const noexcept {
    return listener_errors_.load(std::memory_order_relaxed);
  }

 private:
  struct Slot {
    uint64_t id = 0;
    uint32_t mask = 0;
    Listener fn;
    std::atomic<int> calls{0};
    std::atomic<bool> removed{false};
  };
  using SlotList = std::vector<std::shared_ptr<Slot>>;

  void Publish(std::shared_ptr<const SlotList> next) {
    uint32_t all = 0;
    for (const auto& s : *next) all |= s->mask;
    slots_ = std::move(next);
    mask_.store(all, std::memory_order_relaxed);
  }

  void Deliver(const SlotList& slots, const Event& ev, const Slot* skip) noexcept {
    const uint32_t bit = type_bit_(ev);
    for (const auto& slot : slots) {
      if (slot.get() == skip || (slot->mask & bit) == 0) continue;
      slot->calls.fetch_add(1, std::memory_order_seq_cst);
      if (slot->removed.load(std::memory_order_seq_cst)) {
        slot->calls.fetch_sub(1, std::memory_order_seq_cst);
        continue;
      }
      RunningListeners().push_back(slot.get());
      Status failure;
      try {
        slot->fn(ev);
      } catch (const std::exception& e) {
        failure = Status::Internal(std::string("event listener threw: ") + e.what());
      } catch (...) {
        failure = Status::Internal("event listener threw a non-standard exception");
      }
      RunningListeners().pop_back();
      slot->calls.fetch_sub(1, std::memory_order_seq_cst);
      if (!failure.ok()) {
        listener_errors_.fetch_add(1, std::memory_order_relaxed);
        Event err;
        if (make_error_(ev, failure, &err)) Deliver(slots, err, slot.get());
      }
    }
  }

  const std::function<uint32_t(const Event&)> type_bit_;
  const ErrorFactory make_error_;
  mutable std::mutex mu_;
  std::shared_ptr<const SlotList> slots_ = std::make_shared<const SlotList>();
  uint64_t next_id_ = 1;
  std::atomic<uint32_t> mask_{0};
  std::atomic<uint64_t> listener_errors_{0};
};

using CacheEventHub = EventHub<CacheEvent>;
std::shared_ptr<CacheEventHub> NewCacheEventHub();

}  // namespace larder::internal
