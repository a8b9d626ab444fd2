// Shard: one lock-striped slice of a cache: table, allocator, eviction policy, timer wheel.
//
// Reads (Find, RecordAccess) take no lock: they run inside an epoch read section and only load.
// Everything else requires `mu`. Entries are created (NewEntry), then published (Publish), which
// replaces any previous entry of the key, schedules expiry and evicts to stay within the shard's
// bounds. Removed entries are retired and freed by Reclaim() once no reader can see them.
//
// Synchronization domains:
//   constant after construction: arena_, space_, limits
//   atomic for lock-free readers: table_, read buffers, entries_/bytes_/removals_ (stats)
//   guarded by mu: everything else
#pragma once

#include "base/private.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/arena.h"
#include "base/mutex.h"
#include "base/slab_allocator.h"
#include "engine/entry.h"
#include "engine/read_buffer.h"
#include "engine/table.h"
#include "index/prefix_index.h"
#include "index/tag_index.h"
#include "larder/cache.h"
#include "larder/events.h"
#include "policy/eviction_policy.h"
#include "policy/timer_wheel.h"
#include "policy/window_tuner.h"

namespace larder {

// Weight charged per tag of an entry (its node in the tag index), and per entry for its node in
// the prefix index, so that max_bytes bounds what the indexes hold too.
inline constexpr uint64_t kTagIndexOverhead = 32;
inline constexpr uint64_t kPrefixIndexOverhead = 80;

struct ShardLimits {
  uint64_t max_entries = 0;  // 0 = unbounded
  uint64_t max_bytes = 0;    // 0 = unbounded
  uint32_t min_capacity = 16;
  // Expected entries when full (max_entries, or an estimate for byte bounds): sizes the policy.
  uint64_t expected_full = 0;
  // Exact policy order (every read reorders) rather than lazy promotion.
  bool exact = true;
  WindowAdaptation window = WindowAdaptation::kTuned;
  WindowTuner* tuner = nullptr;  // the cache's, for kTuned W-TinyLFU; outlives the shard
  // Weights for max_bytes; null = Weight(key, value). Outlives the shard.
  const Weigher* weigher = nullptr;
  // Keep the keys in order too (index/prefix_index.h), for pattern invalidation by prefix.
  bool prefix_index = false;
};

// What a new entry holds; see entry.h for the layout.
struct EntrySpec {
  std::string_view key;
  std::string_view value;
  int64_t deadline = kNever;
  int64_t sliding_ttl = 0;       // > 0 makes a sliding entry
  int64_t stale_until = kNever;  // != kNever makes a stale-capable entry
  bool pinned = false;
  std::string_view tags;  // encoded (index/tag_index.h); empty = untagged
};

// An entry taken out of the table by a write, with why. Its memory stays readable until the
// caller's epoch read section ends (the caller must have entered one before the removal).
// Methods taking a RemovalList* report removals there when it is non-null (for events).
struct Removal {
  NodeId id;
  RemovalCause cause;
};
using RemovalList = std::vector<Removal>;

struct Flight;  // engine/single_flight.h

class alignas(64) Shard {
 public:
  static constexpr int kReadStripes = 4;

  // `sentinels` provides the policy's and the timer wheel's sentinel nodes (never freed; shards
  // share one allocator for them so that an empty shard holds no slab of its own).
  static Result<std::unique_ptr<Shard>> Create(Arena* arena, SlabAllocator& sentinels,
                                               EvictionPolicyKind policy, const ShardLimits& limits,
                                               int64_t now);
  ~Shard();
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // Memory an entry accounts for: key + value + overhead + `extras` (ExtrasFor).
  static uint64_t Weight(size_t key_size, size_t value_size, uint64_t extras = 0) noexcept {
    return key_size + value_size + kEntryOverhead + extras;
  }
  // What encoded tags weigh: their bytes and kTagIndexOverhead per tag.
  static uint64_t TagsWeight(std::string_view encoded_tags) noexcept {
    return encoded_tags.size() + index::CountTags(encoded_tags) * kTagIndexOverhead;
  }
  // What an entry with `encoded_tags` adds to Weight() here: TagsWeight and, with the prefix
  // index, kPrefixIndexOverhead.
  uint64_t ExtrasFor(std::string_view encoded_tags) const noexcept {
    return TagsWeight(encoded_tags) + (limits_.prefix_index ? kPrefixIndexOverhead : 0);
  }
  static uint64_t WeightOf(const EntryHeader* e) noexcept {
    return Weight(e->key_size, e->value_size,
                  TagsWeight(e->tags()) +
                      ((e->flags & EntryHeader::kOrdered) ? kPrefixIndexOverhead : 0));
  }
  static uint64_t BoundWeightOf(const EntryHeader* e) noexcept {
    return (e->flags & EntryHeader::kWeighed) ? e->stored_weight() : WeightOf(e);
  }
  // What the entry weighs against max_bytes: the weigher's answer, else Weight(). 0 = pinned.
  uint64_t BoundWeight(std::string_view key, std::string_view value,
                       std::string_view encoded_tags) const {
    return limits_.weigher != nullptr && *limits_.weigher
               ? (*limits_.weigher)(key, value)
               : Weight(key.size(), value.size(), ExtrasFor(encoded_tags));
  }

  // ---- Lock-free; REQUIRE an epoch read section. ----

  // The slot word of the live-or-expired entry stored under `key`, or 0.
  uint64_t Find(uint64_t hash, std::string_view key) const noexcept {
    const Table* t = table_.load(std::memory_order_acquire);
    return t->Find(hash, [&](NodeId id) { return KeyEquals(EntryAt(space_, id)->key(), key); });
  }
  EntryHeader* Entry(NodeId id) const noexcept { return EntryAt(space_, id); }
  NodeId space_id(const EntryHeader* e) const noexcept { return space_.IdOf(e); }
  void Prefetch(uint64_t hash) const noexcept { table_.load(std::memory_order_acquire)->Prefetch(hash); }
  // Notes a hit on `e` for the eviction policy (lossy). Drains the buffer when it wraps and the
  // lock is free; never waits. Skipped for unbounded shards (they never evict) and for entries
  // the policy marked kSkipReads (nothing left to record) or pinned ones.
  void RecordAccess(const EntryHeader* e, uint64_t slot_value, uint32_t stripe) noexcept {
    if (!bounded_) return;
    if (e->state.load(std::memory_order_relaxed) & EntryHeader::kSkipReads) return;
    RecordAccessSlow(slot_value, stripe);
  }

  // Calls fn(const EntryHeader*) for each entry in the current table.
  template <typename Fn>
  void ForEachLockFree(Fn&& fn) const noexcept {
    Table* t = table_.load(std::memory_order_acquire);
    for (uint32_t i = 0; i < t->capacity(); ++i) {
      const uint64_t s = t->slot(i).load(std::memory_order_acquire);
      if (s == Table::kEmpty || s == Table::kTombstone) continue;
      fn(static_cast<const EntryHeader*>(Entry(Table::IdOf(s))));
    }
  }

  uint64_t entries() const noexcept { return entries_.load(std::memory_order_relaxed); }
  uint64_t bytes() const noexcept { return bytes_.load(std::memory_order_relaxed); }
  uint64_t removals(RemovalCause c) const noexcept {
    return removals_[static_cast<int>(c)].load(std::memory_order_relaxed);
  }
  const ShardLimits& limits() const noexcept { return limits_; }

  // ---- REQUIRE mu (declared with the data below, on its own cache line). ----

  // Allocates and fills an unpublished entry. ResourceExhausted when memory runs out.
  Result<NodeId> NewEntry(const EntrySpec& spec) REQUIRES(mu);
  // Makes `id` the entry for its key, replacing (and reporting) any previous one, schedules its
  // expiry and evicts to stay within bounds. Returns the replaced entry (retired: readable only
  // within a read section the caller entered before this call) or kNoNode.
  NodeId Publish(uint64_t hash, NodeId id, RemovalList* removed) REQUIRES(mu);
  // Removes the entry stored under `key`, live or expired; returns its id or kNoNode.
  NodeId Remove(uint64_t hash, std::string_view key, RemovalCause cause, RemovalList* removed)
      REQUIRES(mu);
  // Removes each of `ids` (entries in the table, live or expired).
  void RemoveEntries(std::span<const NodeId> ids, RemovalCause cause, RemovalList* removed)
      REQUIRES(mu);
  // Removes every entry.
  void RemoveAll(RemovalCause cause, RemovalList* removed) REQUIRES(mu);
  // Whether the shard keeps its keys in order (ShardLimits::prefix_index).
  bool has_prefix_index() const noexcept { return limits_.prefix_index; }
  // Calls fn(std::string_view key, NodeId id) for each entry whose key starts with `prefix`.
  // REQUIRES: has_prefix_index(); fn must not change the shard.
  template <typename Fn>
  void ForEachWithPrefix(std::string_view prefix, Fn&& fn) const REQUIRES(mu) {
    prefixes_->ForEachWithPrefix(prefix, std::forward<Fn>(fn));
  }
  // Appends the entries written with `tag` to *out.
  void CollectTagged(std::string_view tag, std::vector<NodeId>* out) const REQUIRES(mu) {
    tags_.Collect(tag, out);
  }
  size_t tag_count() const REQUIRES(mu) { return tags_.tag_count(); }
  // Removes entries whose removal deadline has passed at `now`.
  void Expire(int64_t now, RemovalList* removed) REQUIRES(mu);
  // Applies recorded reads to the eviction policy.
  void DrainReads() REQUIRES(mu);
  // Frees retired entries and tables that no reader can see any more (see epoch.h).
  void Reclaim(uint64_t safe_epoch) REQUIRES(mu);
  // Gives back slabs the allocator keeps although every object in them is freed.
  size_t ReleaseIdleSlabs() REQUIRES(mu) { return alloc_.ReleaseIdle(); }
  size_t retired() const REQUIRES(mu) {
    return retired_.size() - retired_head_ + retired_tables_.size();
  }
  // Oldest retire tag pending, or 0 when nothing is pending.
  uint64_t oldest_retired_tag() const REQUIRES(mu);

  // In-flight loads of this shard's keys (single flight).
  std::map<std::string, std::shared_ptr<Flight>, std::less<>>& flights() REQUIRES(mu) {
    return flights_;
  }
  // A write or explicit removal of `key`: its in-flight load, if any, must not store its value.
  // Inline: every Set and Delete asks, and the map is almost always empty.
  void SupersedeFlight(std::string_view key) REQUIRES(mu) {
    if (!flights_.empty()) SupersedeFlightIn(key);
  }
  // The same for every in-flight load whose key `matches` (every one when it is empty).
  void SupersedeFlights(const std::function<bool(std::string_view)>& matches) REQUIRES(mu);

  // For tests: the policy's next victim (may reorder it), the table.
  NodeId PolicyVictim() REQUIRES(mu) { return policy_->Victim(); }
  uint32_t table_capacity() const noexcept {
    return table_.load(std::memory_order_acquire)->capacity();
  }

 private:
  Shard(Arena* arena, const ShardLimits& limits);
  Status Init(SlabAllocator& sentinels, EvictionPolicyKind policy, int64_t now) REQUIRES(mu);

  void RecordAccessSlow(uint64_t slot_value, uint32_t stripe) noexcept;
  void Insert(uint64_t hash, NodeId id) REQUIRES(mu);
  // Applies one drained read to the policy (unless the entry is gone or pinned).
  void NoteAccess(uint64_t slot_value) REQUIRES(mu);
  void RemoveNode(NodeId id, RemovalCause cause, RemovalList* removed) REQUIRES(mu);
  // Takes `id` out of the policy and the wheel, then retires it.
  void Unlink(NodeId id, RemovalCause cause, RemovalList* removed) REQUIRES(mu);
  // Counts the removal and queues `id` for reclamation (already out of table, policy, wheel).
  void Retire(NodeId id, RemovalCause cause, RemovalList* removed) REQUIRES(mu);
  void EnforceBounds(RemovalList* removed) REQUIRES(mu);
  // Secondary indexes (ordered keys, tags): an entry enters them with the table and leaves them
  // with it; a replacement takes over its predecessor's places. noexcept: they allocate, and an
  // allocation failure half-way would leave the table and the indexes disagreeing, so it ends
  // the process instead.
  void IndexInsert(EntryHeader* e, NodeId id) noexcept REQUIRES(mu);
  void IndexErase(EntryHeader* e, NodeId id) noexcept REQUIRES(mu);
  void IndexReplace(EntryHeader* old_entry, NodeId old_id, EntryHeader* e, NodeId id) noexcept
      REQUIRES(mu);
  void Rebuild(uint32_t live_target) REQUIRES(mu);
  void FreeEntry(NodeId id) REQUIRES(mu);
  void PublishCounts() REQUIRES(mu) {
    // Skip unchanged values: most overwrites change neither, and the store would dirty a line.
    if (entries_.load(std::memory_order_relaxed) != live_) {
      entries_.store(live_, std::memory_order_relaxed);
    }
    if (bytes_.load(std::memory_order_relaxed) != weight_) {
      bytes_.store(weight_, std::memory_order_relaxed);
    }
  }
  bool OverBounds() const REQUIRES(mu) {
    return (limits_.max_entries != 0 && counted_ > limits_.max_entries) ||
           (limits_.max_bytes != 0 && counted_weight_ > limits_.max_bytes);
  }
  // Takes a tracked entry into the bound counters, or out of them.
  void Count(const EntryHeader* e) REQUIRES(mu) {
    ++counted_;
    counted_weight_ += BoundWeightOf(e);
  }
  void Uncount(const EntryHeader* e) REQUIRES(mu) {
    --counted_;
    counted_weight_ -= BoundWeightOf(e);
  }

  // Data layout: lines are grouped by who writes them, so writers never invalidate a line that
  // every lookup reads (the cause of a measured 2-writer slowdown before the split).

  // Read by every lookup; written only when the table is rebuilt.
  const ShardLimits limits_;
  const bool bounded_;
  const NodeSpace space_;
  std::atomic<Table*> table_{nullptr};
  // Lossy read buffers, one cache line pair per stripe (ReadBuffer is 64-byte aligned).
  std::array<ReadBuffer, kReadStripes> reads_;

 public:
  // The shard lock, alone on its line so spinning waiters do not steal the holder's lines.
  alignas(64) SpinMutex mu;

 private:
  // Writer state, touched only under mu.
  alignas(64) SlabAllocator alloc_ GUARDED_BY(mu);
  std::unique_ptr<Table> owned_table_ GUARDED_BY(mu);

  std::unique_ptr<EvictionPolicy> policy_ GUARDED_BY(mu);
  std::optional<TimerWheel> wheel_ GUARDED_BY(mu);

  uint64_t live_ GUARDED_BY(mu) = 0;    // every entry in the table
  uint64_t weight_ GUARDED_BY(mu) = 0;  // their memory, Weight()
  uint64_t counted_ GUARDED_BY(mu) = 0;         // entries the policy tracks (not pinned)
  uint64_t counted_weight_ GUARDED_BY(mu) = 0;  // their BoundWeight()
  uint32_t used_slots_ GUARDED_BY(mu) = 0;  // live + tombstones
  std::atomic<uint64_t> entries_{0};
  std::atomic<uint64_t> bytes_{0};
  std::array<std::atomic<uint64_t>, kRemovalCauseCount> removals_{};

  struct Retired {
    NodeId id;
    uint64_t tag;
  };
  // Retired entries in tag order; reclaimed from the front (retired_head_), compacted in bulk.
  std::vector<Retired> retired_ GUARDED_BY(mu);
  size_t retired_head_ GUARDED_BY(mu) = 0;
  std::deque<std::pair<std::unique_ptr<Table>, uint64_t>> retired_tables_ GUARDED_BY(mu);

  void SupersedeFlightIn(std::string_view key) REQUIRES(mu);  // the map is not empty
  std::map<std::string, std::shared_ptr<Flight>, std::less<>> flights_ GUARDED_BY(mu);
  std::unique_ptr<index::PrefixIndex> prefixes_ GUARDED_BY(mu);  // set when prefix_index
  index::TagIndex tags_ GUARDED_BY(mu);
};

}  // namespace larder
