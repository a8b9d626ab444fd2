// Table: one shard's open-addressing hash table, readable without locks.
//
// Slots are 64-bit words: the key hash's lower 32 bits (a tag that filters almost every
// mismatch without touching the entry) above the entry's 32-bit NodeId. Linear probing from a
// home slot chosen by multiply-shift of those same 32 bits, so any capacity works (no
// power-of-two waste) and a rebuild finds every slot's new home from the slot alone, without
// reading the entries. (Shards are chosen by the hash's upper bits, independent of both.) Keys
// sharing a home share the tag's top log2(capacity) bits; the rest still tell them apart.
//
// Invariants for lock-free readers:
//  * Writers hold the shard lock. A slot changes only empty -> entry, entry -> entry (same key,
//    replaced value), entry -> tombstone, tombstone -> entry. Entries never move within a table,
//    so a probe that starts before a write sees the old or the new state of each slot.
//  * Growing or purging tombstones builds a new table and publishes it with one release store;
//    the old one is retired through epochs, so a reader still probing it stays safe.
//  * Empty + tombstone count stays below capacity (load factor <= 13/16), so probes end.
#pragma once

#include "base/private.h"

#include <atomic>
#include <cstdint>
#include <memory>

#include "base/node_space.h"

namespace larder {

class Table {
 public:
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = 0xFFFFFFFFull;  // tag 0, an id the arena never uses
  static constexpr uint64_t kTagMask = 0xFFFFFFFF00000000ull;

  explicit Table(uint32_t capacity)
      : capacity_(capacity), slots_(new std::atomic<uint64_t>[capacity]()) {}

  uint32_t capacity() const noexcept { return capacity_; }
  std::atomic<uint64_t>& slot(uint32_t i) noexcept { return slots_[i]; }

  static uint64_t TagOf(uint64_t hash) noexcept { return hash << 32; }
  static uint64_t Encode(uint64_t hash, NodeId id) noexcept { return TagOf(hash) | id; }
  static NodeId IdOf(uint64_t slot_value) noexcept { return static_cast<NodeId>(slot_value); }
  uint32_t Home(uint64_t hash) const noexcept {
    return static_cast<uint32_t>((uint64_t{static_cast<uint32_t>(hash)} * capacity_) >> 32);
  }
  // The home of an occupied slot's key, from its tag.
  uint32_t HomeOfSlot(uint64_t slot_value) const noexcept { return Home(slot_value >> 32); }
  // Starts loading the cache line of `hash`'s home slot (bulk writers overlap their misses).
  void Prefetch(uint64_t hash) const noexcept { __builtin_prefetch(&slots_[Home(hash)], 1); }
  // Largest number of used (live + tombstone) slots before the table must be rebuilt.
  static uint32_t MaxUsed(uint32_t capacity) noexcept {
    return static_cast<uint32_t>(uint64_t{capacity} * 13 / 16);
  }

  // Lock-free lookup. Returns the matching slot value, or 0. `eq(NodeId)` compares keys.
  // REQUIRES: inside an epoch read section (or holding the shard lock).
  template <typename Eq>
  uint64_t Find(uint64_t hash, Eq&& eq) const noexcept {
    const uint64_t tag = TagOf(hash);
    uint32_t i = Home(hash);
    for (;;) {
      const uint64_t s = slots_[i].load(std::memory_order_acquire);
      if (s == kEmpty) return 0;
      if ((s & kTagMask) == tag && s != kTombstone && eq(IdOf(s))) return s;
      if (++i == capacity_) i = 0;
    }
  }

  struct Probe {
    uint32_t index;     // the matching slot, else where an insert should go
    uint64_t existing;  // the matching slot's value, 0 when the key is absent
    bool reuses_tombstone;
  };
  // Writer-side lookup. REQUIRES: the shard lock.
  template <typename Eq>
  Probe FindForWrite(uint64_t hash, Eq&& eq) const noexcept {
    const uint64_t tag = TagOf(hash);
    uint32_t i = Home(hash);
    int64_t first_tombstone = -1;
    for (;;) {
      const uint64_t s = slots_[i].load(std::memory_order_relaxed);
      if (s == kEmpty) {
        if (first_tombstone >= 0) return {static_cast<uint32_t>(first_tombstone), 0, true};
        return {i, 0, false};
      }
      if (s == kTombstone) {
        if (first_tombstone < 0) first_tombstone = i;
      } else if ((s & kTagMask) == tag && eq(IdOf(s))) {
        return {i, s, false};
      }
      if (++i == capacity_) i = 0;
    }
  }

 private:
  const uint32_t capacity_;
  std::unique_ptr<std::atomic<uint64_t>[]> slots_;
};

}  // namespace larder
