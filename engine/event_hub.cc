// EventHub: subscribe, unsubscribe with waiting, contained delivery.
#include "engine/event_hub.h"

#include <algorithm>
#include <exception>
#include <string>
#include <thread>

#include <fmt/format.h>

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
  std::shared_ptr<internal::EventHub> hub = std::move(hub_);
  hub_ = nullptr;
  hub->Remove(id_);
}

namespace internal {
namespace {

// Slots whose listener is running on this thread (listeners may emit or unsubscribe).
thread_local std::vector<const void*> t_running;

}  // namespace

Subscription EventHub::Subscribe(EventListener listener, EventMask mask) {
  std::lock_guard lock(mu_);
  auto slot = std::make_shared<Slot>();
  slot->id = next_id_++;
  slot->mask = mask;
  slot->fn = std::move(listener);
  auto next = std::make_shared<SlotList>(*slots_);
  next->push_back(slot);
  EventMask all = 0;
  for (const auto& s : *next) all |= s->mask;
  slots_ = std::move(next);
  mask_.store(all, std::memory_order_relaxed);
  return Subscription(shared_from_this(), slot->id);
}

void EventHub::Remove(uint64_t id) noexcept {
  std::shared_ptr<Slot> victim;
  {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<SlotList>();
    EventMask all = 0;
    for (const auto& s : *slots_) {
      if (s->id == id) {
        victim = s;
      } else {
        next->push_back(s);
        all |= s->mask;
      }
    }
    slots_ = std::move(next);
    mask_.store(all, std::memory_order_relaxed);
  }
  if (victim == nullptr) return;
  victim->removed.store(true, std::memory_order_seq_cst);
  const int own = static_cast<int>(
      std::count(t_running.begin(), t_running.end(), static_cast<const void*>(victim.get())));
  while (victim->calls.load(std::memory_order_seq_cst) > own) std::this_thread::yield();
}

void EventHub::Emit(const CacheEvent& ev) noexcept {
  std::shared_ptr<const SlotList> slots;
  {
    std::lock_guard lock(mu_);
    slots = slots_;
  }
  Deliver(*slots, ev, nullptr);
}

void EventHub::Deliver(const SlotList& slots, const CacheEvent& ev, const Slot* skip) noexcept {
  for (const auto& slot : slots) {
    if (slot.get() == skip || (slot->mask & EventBit(ev.type)) == 0) continue;
    slot->calls.fetch_add(1, std::memory_order_seq_cst);
    if (slot->removed.load(std::memory_order_seq_cst)) {
      slot->calls.fetch_sub(1, std::memory_order_seq_cst);
      continue;
    }
    t_running.push_back(slot.get());
    Status failure;
    try {
      slot->fn(ev);
    } catch (const std::exception& e) {
      failure = Status::Internal(fmt::format("event listener threw: {}", e.what()));
    } catch (...) {
      failure = Status::Internal("event listener threw a non-standard exception");
    }
    t_running.pop_back();
    slot->calls.fetch_sub(1, std::memory_order_seq_cst);
    if (!failure.ok()) {
      listener_errors_.fetch_add(1, std::memory_order_relaxed);
      if (ev.type != EventType::kError) {
        CacheEvent err;
        err.type = EventType::kError;
        err.key = ev.key;
        err.error = &failure;
        Deliver(slots, err, slot.get());
      }
    }
  }
}

}  // namespace internal
}  // namespace larder
