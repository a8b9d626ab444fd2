// Entry: the in-arena layout of one cached key and value.
//
//   offset 0   ListHook policy     eviction-policy links        (shard lock)
//   offset 8   ListHook timer      timer-wheel links            (shard lock)
//   offset 16  atomic<int64> deadline  fresh deadline, kNever when none
//   offset 24  uint32 value_size, uint16 key_size, uint8 flags, uint8 state
//   offset 32  extensions, 8 bytes each, present per flag, in this order:
//                kSliding   int64 sliding ttl (ns)
//                kStale     int64 stale_until, atomic<int64> retry_at
//                kExternal  char* value (malloc'd; for values too big for a slab object)
//                kWeighed   uint64 weight (from CacheOptions::weigher)
//                kTagged    uint32 size of the encoded tags, uint32 unused
//                kOrdered   the entry's handle in the shard's prefix index (shard lock)
//              then the key bytes, then the value bytes (unless kExternal), then the encoded
//              tags (kTagged; index/tag_index.h).
//
// Invariants: everything but `deadline` (and retry_at), the hooks and `state` is immutable once
// the entry is published in the table, so lock-free readers need no synchronization to read
// key and value. `deadline` moves only for sliding entries (readers store it) and for fail-safe
// throttling (under the shard lock). `state` is written under the shard lock; readers only load
// it (to skip recording reads of entries already marked referenced). Readers never touch hooks.
#pragma once

#include "base/private.h"

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <string_view>

#include "base/node_space.h"
#include "policy/eviction_policy.h"
#include "policy/node_list.h"

namespace larder {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

// now + ttl, saturating just below kNever so that a finite TTL never means "no deadline".
// REQUIRES: ttl >= 0.
inline int64_t DeadlineAfter(int64_t now, int64_t ttl) noexcept {
  return ttl >= kNever - 1 - now ? kNever - 1 : now + ttl;
}

struct EntryHeader {
  // kPinned: never evicted, not counted towards the bounds, not tracked by the policy.
  enum Flag : uint8_t { kSliding = 1, kStale = 2, kExternal = 4, kWeighed = 8, kPinned = 16, kTagged = 32,
               kOrdered = 64 };
  // `state` (policy/eviction_policy.h): kLinked = in the table (and the policy unless pinned);
  // kSkipReads = readers need not record reads of it; the policy owns the upper bits.
  enum State : uint8_t { kLinked = kNodeLinked, kSkipReads = kNodeSkipReads };

  ListHook policy;
  ListHook timer;
  std::atomic<int64_t> deadline{kNever};
  uint32_t value_size = 0;
  uint16_t key_size = 0;
  uint8_t flags = 0;
  std::atomic<uint8_t> state{0};

  static constexpr uint32_t kPolicyHookOffset = 0;
  static constexpr uint32_t kTimerHookOffset = 8;
  static constexpr uint32_t kStateOffset = 31;

  static size_t ExtensionBytes(uint8_t flags) noexcept {
    return ((flags & kSliding) ? 8 : 0) + ((flags & kStale) ? 16 : 0) +
           ((flags & kExternal) ? 8 : 0) + ((flags & kWeighed) ? 8 : 0) +
           ((flags & kTagged) ? 8 : 0) + ((flags & kOrdered) ? 8 : 0);
  }
  // Bytes of the whole entry as allocated in a slab object.
  static size_t AllocationSize(uint8_t flags, size_t key_size, size_t value_size,
                               size_t tags_size) noexcept {
    return sizeof(EntryHeader) + ExtensionBytes(flags) + key_size +
           ((flags & kExternal) ? 0 : value_size) + tags_size;
  }

  char* ext() noexcept { return reinterpret_cast<char*>(this + 1); }
  const char* ext() const noexcept { return reinterpret_cast<const char*>(this + 1); }

  int64_t sliding_ttl() const noexcept {
    int64_t v;
    std::memcpy(&v, ext(), sizeof v);
    return v;
  }
  int64_t stale_until() const noexcept {
    int64_t v;
    std::memcpy(&v, ext() + ((flags & kSliding) ? 8 : 0), sizeof v);
    return v;
  }
  std::atomic<int64_t>& retry_at() noexcept {
    return *std::launder(
        reinterpret_cast<std::atomic<int64_t>*>(ext() + ((flags & kSliding) ? 16 : 8)));
  }
  const std::atomic<int64_t>& retry_at() const noexcept {
    return const_cast<EntryHeader*>(this)->retry_at();
  }
  char* external_slot() noexcept {
    return ext() + ((flags & kSliding) ? 8 : 0) + ((flags & kStale) ? 16 : 0);
  }
  char* weight_slot() noexcept { return external_slot() + ((flags & kExternal) ? 8 : 0); }
  char* tags_slot() noexcept { return weight_slot() + ((flags & kWeighed) ? 8 : 0); }
  // REQUIRES: kOrdered. Written and read only under the shard lock; readers never look.
  char* order_slot() noexcept { return tags_slot() + ((flags & kTagged) ? 8 : 0); }
  // The weigher's weight (REQUIRES: kWeighed).
  uint64_t stored_weight() const noexcept {
    uint64_t w;
    std::memcpy(&w, const_cast<EntryHeader*>(this)->weight_slot(), sizeof w);
    return w;
  }
  const char* external_value() const noexcept {
    const char* p;
    std::memcpy(&p, const_cast<EntryHeader*>(this)->external_slot(), sizeof p);
    return p;
  }

  const char* key_data() const noexcept { return ext() + ExtensionBytes(flags); }
  std::string_view key() const noexcept { return {key_data(), key_size}; }
  std::string_view value() const noexcept {
    return {(flags & kExternal) ? external_value() : key_data() + key_size, value_size};
  }
  // The encoded tags (index/tag_index.h); empty unless kTagged.
  std::string_view tags() const noexcept {
    if (!(flags & kTagged)) return {};
    uint32_t n;
    std::memcpy(&n, const_cast<EntryHeader*>(this)->tags_slot(), sizeof n);
    return {key_data() + key_size + ((flags & kExternal) ? 0 : value_size), n};
  }
  // When the entry may be physically removed: the end of its stale window, else its deadline.
  int64_t removal_deadline() const noexcept {
    return (flags & kStale) ? stale_until() : deadline.load(std::memory_order_relaxed);
  }
};
static_assert(sizeof(EntryHeader) == 32, "entry header must stay 32 bytes");
static_assert(std::atomic<uint8_t>::is_always_lock_free);
static_assert(offsetof(EntryHeader, policy) == EntryHeader::kPolicyHookOffset);
static_assert(offsetof(EntryHeader, timer) == EntryHeader::kTimerHookOffset);
static_assert(offsetof(EntryHeader, state) == EntryHeader::kStateOffset);

// Key equality with a fast path for short keys (most cache keys): two overlapping 8-byte loads
// compare 8..16 bytes without a call to memcmp.
inline bool KeyEquals(std::string_view stored, std::string_view key) noexcept {
  const size_t n = key.size();
  if (stored.size() != n) return false;
  if (n >= 8 && n <= 16) {
    uint64_t a0, a1, b0, b1;
    std::memcpy(&a0, stored.data(), 8);
    std::memcpy(&b0, key.data(), 8);
    std::memcpy(&a1, stored.data() + n - 8, 8);
    std::memcpy(&b1, key.data() + n - 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
  }
  return std::memcmp(stored.data(), key.data(), n) == 0;
}

inline EntryHeader* EntryAt(NodeSpace space, NodeId id) noexcept {
  return std::launder(reinterpret_cast<EntryHeader*>(space.At(id)));
}

}  // namespace larder
