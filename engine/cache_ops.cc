// CacheCore operations that RecordCache composes: stale-aware find, puts with explicit
// deadlines, atomic read-modify-write, a lock-free walk.
#include "engine/cache_core.h"

#include "base/hash.h"

namespace larder::internal {

ValueHandle CacheCore::Find(std::string_view key, EntryState* state) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Enter();
  const uint64_t slot = shard.Find(hash, key);
  if (slot != 0) {
    EntryHeader* e = shard.Entry(Table::IdOf(slot));
    if (LiveForRead(e)) {
      shard.RecordAccess(e, slot, epoch::ThreadOrdinal());
      *state = EntryState::kFresh;
      return ValueHandle(e->key(), e->value(), Pin());
    }
    if ((e->flags & EntryHeader::kStale) && !clock_->Reached(e->stale_until())) {
      shard.RecordAccess(e, slot, epoch::ThreadOrdinal());
      *state = EntryState::kStale;
      return ValueHandle(e->key(), e->value(), Pin());
    }
  }
  epoch::Exit();
  return {};
}

ValueHandle CacheCore::FindStored(std::string_view key) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Enter();
  const uint64_t slot = shard.Find(hash, key);
  if (slot != 0) {
    const EntryHeader* e = shard.Entry(Table::IdOf(slot));
    return ValueHandle(e->key(), e->value(), Pin());
  }
  epoch::Exit();
  return {};
}

Status CacheCore::Put(std::string_view key, std::string_view value, int64_t deadline,
                      int64_t stale_until, ValueHandle* replaced) {
  Status s = CheckSizes(key, value);
  if (!s.ok()) return s;
  EntrySpec spec;
  spec.key = key;
  spec.value = value;
  spec.deadline = deadline;
  spec.stale_until = stale_until;
  return Write(HashKey(key), spec, EventType::kSet, replaced);
}

Status CacheCore::CheckFits(std::string_view key, std::string_view value,
                            std::string_view encoded_tags) const {
  Status s = CheckSizes(key, value);
  return s.ok() ? CheckWeight(HashKey(key), key, value, encoded_tags) : s;
}

Status CacheCore::Mutate(std::string_view key,
                         const std::function<MutateOp(const std::string_view*)>& fn) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Guard guard;  // removed entries stay readable for the events below
  RemovalList removed;
  RemovalList* report = events_->Wants(EventBit(EventType::kDelete) |
                                       EventBit(EventType::kEvicted))
                            ? &removed
                            : nullptr;
  MutateOp op;
  bool advance = false;
  {
    MutexLock lock(shard.mu);
    const uint64_t slot = shard.Find(hash, key);
    std::string_view current;
    const bool live = slot != 0 && Live(shard.Entry(Table::IdOf(slot)));
    if (live) current = shard.Entry(Table::IdOf(slot))->value();
    op = fn(live ? &current : nullptr);
    if (op.kind != MutateOp::kKeep) shard.SupersedeFlight(key);
    if (op.kind == MutateOp::kPut) {
      Status s = CheckSizes(key, op.value);
      if (!s.ok()) return s;
      s = CheckWeight(hash, key, op.value);
      if (!s.ok()) return s;
      EntrySpec spec;
      spec.key = key;
      spec.value = op.value;
      spec.deadline = op.deadline;
      Result<NodeId> id = shard.NewEntry(spec);
      if (!id.ok()) return id.status();
      shard.Publish(hash, *id, report);
      advance = MaybeReclaim(shard);
    } else if (op.kind == MutateOp::kDelete && slot != 0) {
      shard.Remove(hash, key, RemovalCause::kExplicit, report);
      advance = MaybeReclaim(shard);
    }
  }
  if (advance) AdvanceEpoch();
  EmitRemovals(shard, removed);
  return Status::OK();
}

void CacheCore::ForEach(
    const std::function<void(std::string_view, std::string_view, int64_t, int64_t)>& fn) {
  for (const auto& shard : shards_) {
    // One read section per shard keeps every entry seen readable; shards are walked one at a
    // time so a long walk does not hold back reclamation everywhere.
    epoch::Guard guard;
    shard->ForEachLockFree([&](const EntryHeader* e) {
      fn(e->key(), e->value(), e->deadline.load(std::memory_order_relaxed),
         (e->flags & EntryHeader::kStale) ? e->stale_until() : kNever);
    });
  }
}

void CacheCore::SetRetryAt(std::string_view key, int64_t retry_at) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Guard guard;
  MutexLock lock(shard.mu);
  const uint64_t slot = shard.Find(hash, key);
  if (slot == 0) return;
  EntryHeader* e = shard.Entry(Table::IdOf(slot));
  if (e->flags & EntryHeader::kStale) e->retry_at().store(retry_at, std::memory_order_relaxed);
}

}  // namespace larder::internal
