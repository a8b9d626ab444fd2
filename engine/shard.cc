// Shard: entry creation, publication, removal, expiry, eviction and reclamation.
#include "engine/shard.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <new>

#include <fmt/format.h>

#include "base/epoch.h"
#include "base/hash.h"
#include "engine/single_flight.h"

namespace larder {
namespace {

// Growth target: ~62% full after a rebuild, so inserts alone take it to the 13/16 limit.
uint32_t CapacityFor(uint64_t live) {
  const uint64_t cap = live + live / 2 + live / 8 + 1;  // ~1.625x
  return static_cast<uint32_t>(std::min<uint64_t>(cap, uint64_t{1} << 31));
}

}  // namespace

Shard::Shard(Arena* arena, const ShardLimits& limits)
    : limits_(limits),
      bounded_(limits.max_entries != 0 || limits.max_bytes != 0),
      space_(arena->space()),
      alloc_(arena) {
  owned_table_ = std::make_unique<Table>(std::max<uint32_t>(limits.min_capacity, 16));
  table_.store(owned_table_.get(), std::memory_order_release);
  if (limits.prefix_index) prefixes_ = std::make_unique<index::PrefixIndex>();
}

Result<std::unique_ptr<Shard>> Shard::Create(Arena* arena, SlabAllocator& sentinels,
                                             EvictionPolicyKind policy, const ShardLimits& limits,
                                             int64_t now) {
  std::unique_ptr<Shard> shard(new Shard(arena, limits));
  MutexLock lock(shard->mu);
  Status s = shard->Init(sentinels, policy, now);
  if (!s.ok()) return s;
  return shard;
}

Status Shard::Init(SlabAllocator& sentinels, EvictionPolicyKind policy, int64_t now) {
  const size_t policy_nodes = PolicySentinelCount(policy);
  Result<NodeId> p = sentinels.Allocate(policy_nodes * 16);
  if (!p.ok()) return p.status();
  Result<NodeId> w = sentinels.Allocate(TimerWheel::kSentinelCount * 16);
  if (!w.ok()) return w.status();
  PolicyConfig config;
  config.space = space_;
  config.hook_offset = EntryHeader::kPolicyHookOffset;
  config.state_offset = EntryHeader::kStateOffset;
  config.sentinels = *p;
  config.exact = limits_.exact;
  config.tuner = limits_.tuner;
  switch (limits_.window) {
    case WindowAdaptation::kTuned:
      config.window = PolicyConfig::Window::kTuned;
      break;
    case WindowAdaptation::kHillClimbing:
      config.window = PolicyConfig::Window::kHillClimbing;
      break;
    case WindowAdaptation::kFixed:
      config.window = PolicyConfig::Window::kFixed;
      break;
  }
  config.expected_entries = limits_.expected_full;
  config.traits.hash = [](NodeSpace space, NodeId id) {
    return static_cast<uint32_t>(HashKey(EntryAt(space, id)->key()));
  };
  if (limits_.max_bytes != 0) {
    // Regions are sized in the unit of the byte bound; a count bound, if any, is enforced too.
    config.capacity = limits_.max_bytes;
    config.traits.weight = [](NodeSpace space, NodeId id) {
      return BoundWeightOf(EntryAt(space, id));
    };
  } else {
    config.capacity = limits_.max_entries;
  }
  policy_ = MakeEvictionPolicy(policy, config);
  wheel_.emplace(space_, EntryHeader::kTimerHookOffset, *w, now);
  return Status::OK();
}

Shard::~Shard() {
  // The cache is being destroyed: no reader or writer can reach this shard any more. Free the
  // external values; the allocator returns every slab.
  MutexLock lock(mu);
  const Table* t = owned_table_.get();
  for (uint32_t i = 0; i < t->capacity(); ++i) {
    const uint64_t s = const_cast<Table*>(t)->slot(i).load(std::memory_order_relaxed);
    if (s == Table::kEmpty || s == Table::kTombstone) continue;
    EntryHeader* e = Entry(Table::IdOf(s));
    if (e->flags & EntryHeader::kExternal) std::free(const_cast<char*>(e->external_value()));
  }
  for (size_t i = retired_head_; i < retired_.size(); ++i) {
    EntryHeader* e = Entry(retired_[i].id);
    if (e->flags & EntryHeader::kExternal) std::free(const_cast<char*>(e->external_value()));
  }
}

void Shard::RecordAccessSlow(uint64_t slot_value, uint32_t stripe) noexcept {
  ReadBuffer& buffer = reads_[stripe & (kReadStripes - 1)];
  if (!buffer.Record(slot_value)) return;
  if (!mu.TryLock()) return;  // someone else holds the lock and will drain soon enough
  DrainReads();
  mu.Unlock();
}

void Shard::DrainReads() {
  for (ReadBuffer& b : reads_) {
    b.Drain([&](uint64_t v) {
      mu.AssertHeld();
      NoteAccess(v);
    });
  }
}

void Shard::NoteAccess(uint64_t slot_value) {
  const NodeId id = Table::IdOf(slot_value);
  EntryHeader* e = Entry(id);
  const uint8_t state = e->state.load(std::memory_order_relaxed);
  if (!(state & EntryHeader::kLinked)) return;  // removed since it was read
  if (e->flags & EntryHeader::kPinned) return;
  policy_->OnAccess(id, static_cast<uint32_t>(slot_value >> 32));
}

Result<NodeId> Shard::NewEntry(const EntrySpec& spec) {
  uint8_t flags = 0;
  if (spec.sliding_ttl > 0) flags |= EntryHeader::kSliding;
  if (spec.stale_until != kNever) flags |= EntryHeader::kStale;
  uint64_t custom_weight = 0;
  if (limits_.weigher != nullptr && *limits_.weigher) {
    custom_weight = (*limits_.weigher)(spec.key, spec.value);
    flags |= EntryHeader::kWeighed;
    if (custom_weight == 0) flags |= EntryHeader::kPinned;
  }
  if (spec.pinned) flags |= EntryHeader::kPinned;
  if (!spec.tags.empty()) flags |= EntryHeader::kTagged;
  if (limits_.prefix_index) flags |= EntryHeader::kOrdered;
  const size_t tags_size = spec.tags.size();
  size_t size = EntryHeader::AllocationSize(flags, spec.key.size(), spec.value.size(), tags_size);
  if (size > SlabAllocator::kMaxObjectSize) {
    flags |= EntryHeader::kExternal;
    size = EntryHeader::AllocationSize(flags, spec.key.size(), spec.value.size(), tags_size);
  }
  char* external = nullptr;
  if (flags & EntryHeader::kExternal) {
    external = static_cast<char*>(std::malloc(spec.value.size()));
    if (external == nullptr) {
      return Status::ResourceExhausted(
          fmt::format("cannot allocate {} bytes for a value", spec.value.size()));
    }
    std::memcpy(external, spec.value.data(), spec.value.size());
  }
  Result<NodeId> id = alloc_.Allocate(size);
  if (!id.ok()) {
    std::free(external);
    return id.status();
  }
  char* mem = space_.At(*id);
  auto* e = new (mem) EntryHeader;
  e->deadline.store(spec.deadline, std::memory_order_relaxed);
  e->value_size = static_cast<uint32_t>(spec.value.size());
  e->key_size = static_cast<uint16_t>(spec.key.size());
  e->flags = flags;
  char* ext = e->ext();
  if (flags & EntryHeader::kSliding) {
    std::memcpy(ext, &spec.sliding_ttl, 8);
    ext += 8;
  }
  if (flags & EntryHeader::kStale) {
    std::memcpy(ext, &spec.stale_until, 8);
    new (ext + 8) std::atomic<int64_t>(0);
    ext += 16;
  }
  if (flags & EntryHeader::kExternal) {
    std::memcpy(ext, &external, sizeof external);
    ext += 8;
  }
  if (flags & EntryHeader::kWeighed) {
    std::memcpy(ext, &custom_weight, sizeof custom_weight);
    ext += 8;
  }
  if (flags & EntryHeader::kTagged) {
    const uint32_t n = static_cast<uint32_t>(tags_size);
    std::memcpy(ext, &n, sizeof n);
    std::memset(ext + sizeof n, 0, 8 - sizeof n);
    ext += 8;
  }
  if (flags & EntryHeader::kOrdered) {
    std::memset(ext, 0, 8);  // the handle, set when the entry is published
    ext += 8;
  }
  // Empty views may carry a null pointer; memcpy from null is undefined even for 0 bytes.
  if (!spec.key.empty()) std::memcpy(ext, spec.key.data(), spec.key.size());
  ext += spec.key.size();
  if (!(flags & EntryHeader::kExternal) && !spec.value.empty()) {
    std::memcpy(ext, spec.value.data(), spec.value.size());
    ext += spec.value.size();
  }
  if (tags_size != 0) std::memcpy(ext, spec.tags.data(), tags_size);
  return *id;
}

void Shard::FreeEntry(NodeId id) {
  EntryHeader* e = Entry(id);
  if (e->flags & EntryHeader::kExternal) std::free(const_cast<char*>(e->external_value()));
  alloc_.Free(id);
}

void Shard::Insert(uint64_t hash, NodeId id) {
  Table* t = owned_table_.get();
  if (used_slots_ + 1 > Table::MaxUsed(t->capacity())) {
    Rebuild(static_cast<uint32_t>(live_ + 1));
    t = owned_table_.get();
  }
  const std::string_view key = Entry(id)->key();
  const Table::Probe p =
      t->FindForWrite(hash, [&](NodeId other) { return Entry(other)->key() == key; });
  assert(p.existing == 0);
  t->slot(p.index).store(Table::Encode(hash, id), std::memory_order_release);
  if (!p.reuses_tombstone) ++used_slots_;
}

NodeId Shard::Publish(uint64_t hash, NodeId id, RemovalList* removed) {
  // Reads recorded before this write are older than it: apply them first, so the policy's
  // order matches the order things happened in. This must precede publication: once the entry
  // is in the table a reader may record it, and the policy must know a node before it is moved.
  if (bounded_) DrainReads();
  EntryHeader* e = Entry(id);
  Table* t = owned_table_.get();
  const std::string_view key = e->key();
  const Table::Probe p =
      t->FindForWrite(hash, [&](NodeId other) { return Entry(other)->key() == key; });
  const int64_t until = e->removal_deadline();
  const uint64_t weight = WeightOf(e);
  const bool pinned = e->flags & EntryHeader::kPinned;
  const uint32_t hash32 = static_cast<uint32_t>(hash);
  // Linked before the policy sees it (the policy writes its own bits next to the engine's).
  // Pinned entries are never recorded by readers: the policy does not track them.
  e->state.store(pinned ? EntryHeader::kLinked | EntryHeader::kSkipReads : EntryHeader::kLinked,
                 std::memory_order_relaxed);
  if (p.existing != 0) {
    // Replace in place: readers see the old entry or the new one, never neither. The store is
    // seq_cst because it also unlinks the old entry (see epoch.h).
    t->slot(p.index).store(Table::Encode(hash, id), std::memory_order_seq_cst);
    const NodeId old = Table::IdOf(p.existing);
    EntryHeader* o = Entry(old);
    // The new version takes the old one's places in the policy and the wheel where it can:
    // no write to the shard's list front or bucket heads, which both writers would share.
    const bool old_pinned = o->flags & EntryHeader::kPinned;
    if (!old_pinned) Uncount(o);
    if (!pinned) Count(e);
    if (!old_pinned && !pinned) {
      policy_->OnReplace(old, id, hash32);
    } else if (!old_pinned) {
      policy_->OnRemove(old);
    } else if (!pinned) {
      policy_->OnInsert(id, hash32);
    }
    if (until != kNever) {
      wheel_->Replace(old, o->removal_deadline(), id, until);
    } else {
      wheel_->Cancel(old);
    }
    IndexReplace(o, old, e, id);
    Retire(old, RemovalCause::kReplaced, nullptr);  // kSet reports it
    weight_ = weight_ - WeightOf(o) + weight;
    EnforceBounds(removed);
    PublishCounts();
    return old;
  }
  if (bounded_) policy_->Prepare(hash32);  // overlaps the policy's loads with Insert's probe
  Insert(hash, id);
  IndexInsert(e, id);
  // From here on, drained reads of it reach the policy.
  if (!pinned) {
    Count(e);
    policy_->OnInsert(id, hash32);
  }
  if (until != kNever) wheel_->Schedule(id, until);
  ++live_;
  weight_ += weight;
  EnforceBounds(removed);
  PublishCounts();  // only now: readers of the counts never see a bound exceeded
  return kNoNode;
}

NodeId Shard::Remove(uint64_t hash, std::string_view key, RemovalCause cause,
                     RemovalList* removed) {
  Table* t = owned_table_.get();
  const Table::Probe p =
      t->FindForWrite(hash, [&](NodeId other) { return Entry(other)->key() == key; });
  if (p.existing == 0) return kNoNode;
  t->slot(p.index).store(Table::kTombstone, std::memory_order_seq_cst);
  const NodeId id = Table::IdOf(p.existing);
  Unlink(id, cause, removed);
  PublishCounts();
  return id;
}

void Shard::RemoveNode(NodeId id, RemovalCause cause, RemovalList* removed) {
  const std::string_view key = Entry(id)->key();
  const uint64_t hash = HashKey(key);
  Table* t = owned_table_.get();
  const Table::Probe p = t->FindForWrite(hash, [&](NodeId other) { return other == id; });
  assert(p.existing != 0);
  t->slot(p.index).store(Table::kTombstone, std::memory_order_seq_cst);
  Unlink(id, cause, removed);
}

void Shard::Unlink(NodeId id, RemovalCause cause, RemovalList* removed) {
  EntryHeader* e = Entry(id);
  if (!(e->flags & EntryHeader::kPinned)) {
    policy_->OnRemove(id);
    Uncount(e);
  }
  wheel_->Cancel(id);
  IndexErase(e, id);
  --live_;
  weight_ -= WeightOf(e);
  Retire(id, cause, removed);
}

namespace {

index::PrefixIndex::Handle OrderHandle(EntryHeader* e) {
  index::PrefixIndex::Handle h;
  std::memcpy(static_cast<void*>(&h), e->order_slot(), sizeof h);
  return h;
}
void SetOrderHandle(EntryHeader* e, index::PrefixIndex::Handle h) {
  std::memcpy(e->order_slot(), static_cast<const void*>(&h), sizeof h);
}

}  // namespace

void Shard::IndexInsert(EntryHeader* e, NodeId id) noexcept {
  if (prefixes_ != nullptr) SetOrderHandle(e, prefixes_->Insert(e->key(), id));
  index::ForEachTag(e->tags(), [&](std::string_view tag) {
    mu.AssertHeld();
    tags_.Add(tag, id);
  });
}

void Shard::IndexErase(EntryHeader* e, NodeId id) noexcept {
  if (prefixes_ != nullptr) prefixes_->Erase(OrderHandle(e));
  index::ForEachTag(e->tags(), [&](std::string_view tag) {
    mu.AssertHeld();
    tags_.Remove(tag, id);
  });
}

void Shard::IndexReplace(EntryHeader* old_entry, NodeId old_id, EntryHeader* e,
                         NodeId id) noexcept {
  if (prefixes_ != nullptr) {
    const index::PrefixIndex::Handle h = OrderHandle(old_entry);
    index::PrefixIndex::Replace(h, e->key(), id);
    SetOrderHandle(e, h);
  }
  index::ForEachTag(old_entry->tags(), [&](std::string_view tag) {
    mu.AssertHeld();
    tags_.Remove(tag, old_id);
  });
  index::ForEachTag(e->tags(), [&](std::string_view tag) {
    mu.AssertHeld();
    tags_.Add(tag, id);
  });
}

void Shard::RemoveEntries(std::span<const NodeId> ids, RemovalCause cause, RemovalList* removed) {
  for (NodeId id : ids) RemoveNode(id, cause, removed);
  PublishCounts();
}

void Shard::Retire(NodeId id, RemovalCause cause, RemovalList* removed) {
  Entry(id)->state.store(0, std::memory_order_relaxed);
  auto& counter = removals_[static_cast<int>(cause)];
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  retired_.push_back({id, epoch::RetireTag()});
  if (removed != nullptr) removed->push_back({id, cause});
}

void Shard::RemoveAll(RemovalCause cause, RemovalList* removed) {
  Table* t = owned_table_.get();
  for (uint32_t i = 0; i < t->capacity(); ++i) {
    const uint64_t s = t->slot(i).load(std::memory_order_relaxed);
    if (s == Table::kEmpty || s == Table::kTombstone) continue;
    t->slot(i).store(Table::kTombstone, std::memory_order_seq_cst);
    Unlink(Table::IdOf(s), cause, removed);
  }
  Rebuild(0);  // drop the tombstones
  PublishCounts();
}

void Shard::EnforceBounds(RemovalList* removed) {
  if (!OverBounds()) return;
  DrainReads();  // let recent hits count before choosing victims
  while (OverBounds()) {
    const NodeId victim = policy_->Victim();
    if (victim == kNoNode) break;
    RemoveNode(victim, RemovalCause::kSize, removed);
  }
}

void Shard::Expire(int64_t now, RemovalList* removed) {
  wheel_->Advance(now, [&](NodeId id) {
    mu.AssertHeld();
    const int64_t until = Entry(id)->removal_deadline();
    if (now >= until) {
      RemoveNode(id, RemovalCause::kExpired, removed);
    } else {
      wheel_->Schedule(id, until);  // a sliding deadline moved, or cascading to a finer level
    }
  });
  PublishCounts();
}

void Shard::Rebuild(uint32_t live_target) {
  const uint32_t floor = std::max<uint32_t>(limits_.min_capacity, 16);
  const uint32_t current = owned_table_->capacity();
  uint32_t capacity;
  if (live_target <= Table::MaxUsed(current) * 7 / 8 && live_target >= current / 4) {
    capacity = current;  // tombstones filled the table: purge them, keep the size
  } else {
    capacity = CapacityFor(live_target);  // grow, or shrink after mass removal
  }
  capacity = std::max(capacity, floor);
  auto fresh = std::make_unique<Table>(capacity);
  Table* old = owned_table_.get();
  uint32_t used = 0;
  for (uint32_t i = 0; i < old->capacity(); ++i) {
    const uint64_t s = old->slot(i).load(std::memory_order_relaxed);
    if (s == Table::kEmpty || s == Table::kTombstone) continue;
    uint32_t j = fresh->HomeOfSlot(s);  // no entry read: the tag holds what the home needs
    while (fresh->slot(j).load(std::memory_order_relaxed) != Table::kEmpty) {
      if (++j == capacity) j = 0;
    }
    fresh->slot(j).store(s, std::memory_order_relaxed);
    ++used;
  }
  used_slots_ = used;
  table_.store(fresh.get(), std::memory_order_release);
  retired_tables_.emplace_back(std::move(owned_table_), epoch::RetireTag());
  owned_table_ = std::move(fresh);
}

uint64_t Shard::oldest_retired_tag() const {
  uint64_t tag = 0;
  if (retired_head_ < retired_.size()) tag = retired_[retired_head_].tag;
  if (!retired_tables_.empty() && (tag == 0 || retired_tables_.front().second < tag)) {
    tag = retired_tables_.front().second;
  }
  return tag;
}

void Shard::Reclaim(uint64_t safe_epoch) {
  const uint64_t oldest = oldest_retired_tag();
  if (oldest == 0 || !epoch::Reclaimable(oldest, safe_epoch)) return;
  // Clear the read buffers first: a record may name an entry about to be freed (read_buffer.h).
  for (ReadBuffer& b : reads_) {
    b.Sweep([&](uint64_t v) {
      mu.AssertHeld();
      NoteAccess(v);
    });
  }
  while (retired_head_ < retired_.size() &&
         epoch::Reclaimable(retired_[retired_head_].tag, safe_epoch)) {
    FreeEntry(retired_[retired_head_++].id);
  }
  if (retired_head_ == retired_.size()) {
    retired_.clear();  // keeps its capacity: no allocation on the next retirements
    retired_head_ = 0;
  } else if (retired_head_ > retired_.size() / 2) {
    retired_.erase(retired_.begin(), retired_.begin() + static_cast<ptrdiff_t>(retired_head_));
    retired_head_ = 0;
  }
  while (!retired_tables_.empty() &&
         epoch::Reclaimable(retired_tables_.front().second, safe_epoch)) {
    retired_tables_.pop_front();
  }
}

void Shard::SupersedeFlightIn(std::string_view key) {
  auto it = flights_.find(key);
  if (it != flights_.end()) it->second->superseded = true;
}

void Shard::SupersedeFlights(const std::function<bool(std::string_view)>& matches) {
  for (auto& [key, flight] : flights_) {
    if (!matches || matches(key)) flight->superseded = true;
  }
}

}  // namespace larder
