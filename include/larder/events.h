// Cache events: typed notifications of writes, removals, refreshes and errors, with RAII
// subscriptions.
//
// Delivery: synchronously, on the thread whose operation caused the event (a writer, a loader,
// or the maintenance thread for expirations), always after every cache lock is released. A
// listener may call back into the cache. A listener that throws is contained: the exception is
// reported as a kError event to the other listeners and the cache is unaffected. A slow listener
// delays only the operation that triggered it; readers are never blocked by listeners.
// Order: events for one key from one thread arrive in order; across threads there is no order.
//
// Lifetime: string_views in an event are valid only during the callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "larder/status.h"

namespace larder {

// Frozen values.
enum class EventType : uint8_t {
  kSet = 0,        // a value was written (Set, GetOrSet load, SetMany)
  kDelete = 1,     // an entry was removed by Delete/DeleteMany (cause kExplicit)
  kExpired = 2,    // an entry reached its deadline and was removed (cause kExpired)
  kEvicted = 3,    // the eviction policy removed an entry to honour a bound (cause kSize)
  kRefreshed = 4,  // a background refresh (GetWithStale) replaced a stale value
  kError = 5,      // a load, refresh or listener failed; `error` says why
  kClear = 6,      // Clear() emptied the cache (no key)
  // A removal named a key, a pattern or a tag: `key` holds it and `scope` says which. One per
  // Delete/DeleteMany key, InvalidatePattern or InvalidateByTag call, after the kDelete of each
  // entry it removed, and also when it removed nothing (another instance, or a shared level
  // behind this cache, may hold what it names).
  kInvalidated = 7,
};

// What a removal named. Frozen values.
enum class InvalidationScope : uint8_t {
  kKey = 0,      // one key (Delete, DeleteMany)
  kPattern = 1,  // InvalidatePattern
  kTag = 2,      // InvalidateByTag
};

// Why an entry left the cache. Frozen values.
enum class RemovalCause : uint8_t {
  kExplicit = 0,  // Delete, DeleteMany, Clear
  kReplaced = 1,  // overwritten by a newer value for the same key
  kExpired = 2,   // its deadline passed
  kSize = 3,      // evicted to stay within max_entries / max_bytes
};
inline constexpr int kRemovalCauseCount = 4;

std::string_view EventTypeName(EventType type) noexcept;
std::string_view RemovalCauseName(RemovalCause cause) noexcept;

struct CacheEvent {
  EventType type = EventType::kSet;
  std::string_view key;    // empty for kClear
  std::string_view value;  // new value (kSet, kRefreshed) or removed value (kDelete, kExpired,
                           // kEvicted); empty otherwise
  RemovalCause cause = RemovalCause::kExplicit;  // meaningful for kDelete, kExpired, kEvicted
  const Status* error = nullptr;                 // non-null exactly for kError
  // kDelete: how the removal named the entry (its key, or a pattern or tag matching it);
  // kInvalidated: whether `key` is a key, a pattern or a tag.
  InvalidationScope scope = InvalidationScope::kKey;
  // kSet: the value came from a fetcher (GetOrSet, GetWithStale), not from a write.
  bool loaded = false;
  // The operation ran inside a RemoteScope (cache.h): it applies another instance's change.
  bool remote = false;
};

using EventListener = std::function<void(const CacheEvent&)>;

// Bit set of EventType values.
using EventMask = uint32_t;
inline constexpr EventMask EventBit(EventType t) { return EventMask{1} << static_cast<int>(t); }
inline constexpr EventMask kAllEvents = 0xff;

namespace internal {
// Whatever holds listeners a Subscription can remove (the cache's and the record cache's hubs).
class SubscriptionOwner {
 public:
  virtual ~SubscriptionOwner() = default;
  virtual void Remove(uint64_t id) noexcept = 0;
};
template <typename Event>
class EventHub;
struct SubscriptionAccess;
}  // namespace internal

// Keeps a listener subscribed while alive. Move-only. Destroying it (or Reset()) unsubscribes
// and waits until calls of this listener running on other threads have returned, so state the
// listener captures may be destroyed right after. Called from inside the listener itself, it
// unsubscribes without waiting for that call. A subscription may outlive its cache.
class Subscription {
 public:
  Subscription() noexcept = default;
  Subscription(Subscription&& other) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { Reset(); }

  void Reset() noexcept;
  bool active() const noexcept { return hub_ != nullptr; }

 private:
  template <typename Event>
  friend class internal::EventHub;
  friend struct internal::SubscriptionAccess;
  Subscription(std::shared_ptr<internal::SubscriptionOwner> hub, uint64_t id) noexcept
      : hub_(std::move(hub)), id_(id) {}

  std::shared_ptr<internal::SubscriptionOwner> hub_;
  uint64_t id_ = 0;
};

}  // namespace larder
