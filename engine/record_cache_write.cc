// RecordCache writes: upserts and removals that keep every index exact, the change feed,
// invalidation, clears, and index cleanup for records the primary evicted or expired.
#include <fmt/format.h>

#include "base/hash.h"
#include "engine/record_cache_impl.h"
#include "index/key_codec.h"
#include "index/pk_list.h"
#include "larder/advanced/executor.h"

namespace larder {

using internal::CacheCore;

std::mutex& RecordCacheImpl::StripeFor(std::string_view pk_key) {
  return stripes_[HashKey(pk_key) % kStripes];
}

std::string RecordCacheImpl::NegativeKeyForPk(std::string_view pk_key) const {
  return "p" + std::string(pk_key);
}

std::string RecordCacheImpl::NegativeKeyForValue(const Index& index,
                                                 const FieldValue& value) const {
  return fmt::format("k{}:", &index - indexes.data()) + index::EncodeKey(value);
}

void RecordCacheImpl::NegativePut(std::string key) {
  if (negative_ns == 0) return;
  const int64_t now = clock->NowNanos();
  (void)misses->Put(key, {}, DeadlineAfter(now, negative_ns), kNever);  // best effort
}

void RecordCacheImpl::NegativeForget(const Record& row) {
  if (negative_ns == 0) return;
  misses->Delete(NegativeKeyForPk(PkKey(row.Get(pk_index))));
  for (const Index& index : indexes) {
    const FieldValue v = row.Get(index.field_index);
    if (!v.is_null()) misses->Delete(NegativeKeyForValue(index, v));
  }
}

void RecordCacheImpl::AddSlot(const Index& index, std::string_view value_key,
                              std::string_view pk_key) {
  if (!index.unique) {
    AddMultiSlot(index, value_key, pk_key);
    return;
  }
  (void)index.store->Mutate(value_key, [&](const std::string_view* current) {
    CacheCore::MutateOp op;
    if (index.unique) {
      const std::string mine = index::PkList::Of(pk_key);
      if (current != nullptr && *current == mine) return op;  // already there
      op.kind = CacheCore::MutateOp::kPut;
      op.value = mine;  // a unique value belongs to the latest record written with it
      return op;
    }
    if (current != nullptr && index::PkList::Contains(*current, pk_key)) return op;
    op.kind = CacheCore::MutateOp::kPut;
    op.value = index::PkList::With(current != nullptr ? *current : std::string_view(), pk_key);
    return op;
  });
}

void RecordCacheImpl::RemoveSlot(const Index& index, const FieldValue& value,
                                 std::string_view pk_key) {
  if (!index.unique) {
    RemoveMultiSlot(index, index::EncodeKey(value), pk_key);
    return;
  }
  (void)RemoveFromList(*index.store, index::EncodeKey(value), pk_key);
}

RecordCacheImpl::RowKeys RecordCacheImpl::KeysOf(const Record& row) const {
  RowKeys keys;
  keys.pk = PkKey(row.Get(pk_index));
  keys.values.reserve(indexes.size());
  for (const Index& index : indexes) {
    const FieldValue v = row.Get(index.field_index);
    keys.values.push_back(v.is_null() ? std::string() : index::EncodeKey(v));
  }
  return keys;
}

void RecordCacheImpl::PrefetchKeys(const RowKeys& keys) const {
  primary->Prefetch(keys.pk);
  for (size_t i = 0; i < indexes.size(); ++i) {
    if (!keys.values[i].empty()) indexes[i].store->Prefetch(keys.values[i]);
  }
}

Status RecordCacheImpl::UpsertRow(const Record& row, std::optional<int64_t> deadline) {
  return UpsertKeyed(row, KeysOf(row), deadline);
}

void RecordCacheImpl::BeginSyncApply() { syncs_applying.fetch_add(1, std::memory_order_acq_rel); }

void RecordCacheImpl::EndSyncApply() {
  if (syncs_applying.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  std::lock_guard lock(touched_mu);
  touched.clear();
  any_touched.store(false, std::memory_order_release);
}

void RecordCacheImpl::NoteDirectWrite(std::string_view pk_key) {
  if (syncs_applying.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lock(touched_mu);
  touched.emplace(pk_key);
  any_touched.store(true, std::memory_order_release);
}

bool RecordCacheImpl::TouchedDuringSync(std::string_view pk_key) {
  if (!any_touched.load(std::memory_order_acquire)) return false;
  std::lock_guard lock(touched_mu);
  return touched.count(std::string(pk_key)) != 0;
}

Status RecordCacheImpl::UpsertKeyed(const Record& row, const RowKeys& keys,
                                    std::optional<int64_t> deadline, Origin origin) {
  const std::string& pk_key = keys.pk;
  int64_t fresh = kNever, stale = kNever;
  if (deadline) {
    fresh = *deadline;
    if (fresh != kNever && stale_ns > ttl_ns) stale = DeadlineAfter(fresh, stale_ns - ttl_ns);
  } else if (ttl_ns != 0) {
    const int64_t now = clock->NowForDeadline(ttl_ns);
    fresh = DeadlineAfter(now, ttl_ns);
    if (stale_ns > ttl_ns) stale = DeadlineAfter(now, stale_ns);
  }
  ValueHandle old;  // the version replaced, even if expired: its slots go when values changed
  {
    std::lock_guard lock(StripeFor(pk_key));
    if (origin == Origin::kDirect) {
      NoteDirectWrite(pk_key);
    } else if (TouchedDuringSync(pk_key)) {
      return Status::OK();  // written by someone else since the sync read it: theirs is newer
    }
    Status s = primary->Put(pk_key, row.bytes(), fresh, stale, &old);
    if (!s.ok()) return s;
    const RecordView before(schema.get(), old ? old.value() : std::string_view());
    for (size_t i = 0; i < indexes.size(); ++i) {
      const Index& index = indexes[i];
      if (old) {
        const FieldValue was = before.Get(index.field_index);
        if (!was.is_null() && !(was == row.Get(index.field_index))) RemoveSlot(index, was, pk_key);
      }
      // Always (re)assert the slot: Clear(field) may have dropped it while the record stayed.
      if (!keys.values[i].empty()) AddSlot(index, keys.values[i], pk_key);
    }
  }
  NegativeForget(row);
  // The superseded version is still pinned by `old`: report it outside the stripe.
  if (old && events->Wants(RecordEventBit(RecordEventType::kEvicted))) {
    RecordEvent ev;
    ev.type = RecordEventType::kEvicted;
    ev.record = RecordView(schema.get(), old.value());
    ev.cause = RemovalCause::kReplaced;
    events->Emit(ev);
  }
  return Status::OK();
}

bool RecordCacheImpl::RemoveByPkKey(const std::string& pk_key, RemovalCause cause,
                                    RecordEventType event, Origin origin) {
  ValueHandle old;
  {
    std::lock_guard lock(StripeFor(pk_key));
    if (origin == Origin::kDirect) {
      NoteDirectWrite(pk_key);
    } else if (TouchedDuringSync(pk_key)) {
      return false;
    }
    old = primary->FindStored(pk_key);
    if (!old) return false;
    primary->Delete(pk_key);
    const RecordView before(schema.get(), old.value());
    for (const Index& index : indexes) {
      const FieldValue was = before.Get(index.field_index);
      if (!was.is_null()) RemoveSlot(index, was, pk_key);
    }
  }
  // The handle still pins the removed version: listeners read it outside every lock.
  const RecordView removed(schema.get(), old.value());
  if (events->Wants(RecordEventBit(event))) {
    RecordEvent ev;
    ev.type = event;
    ev.record = removed;
    events->Emit(ev);
  }
  if (event != RecordEventType::kEvicted && events->Wants(RecordEventBit(RecordEventType::kEvicted))) {
    RecordEvent ev;
    ev.type = RecordEventType::kEvicted;
    ev.record = removed;
    ev.cause = cause;
    events->Emit(ev);
  }
  return true;
}

// Called by the primary, after its shard lock is released but possibly while this thread holds
// a stripe (an upsert that evicted): only queue; FlushRemovals does the work.
void RecordCacheImpl::OnPrimaryRemoval(const CacheEvent& ev) {
  const RemovalCause cause = ev.type == EventType::kExpired ? RemovalCause::kExpired
                                                              : RemovalCause::kSize;
  (cause == RemovalCause::kExpired ? expirations : evictions).fetch_add(1);
  std::lock_guard lock(removals_mu);
  pending_removals.push_back({std::string(ev.key), std::string(ev.value), cause});
}

void RecordCacheImpl::FlushRemovals() {
  std::vector<PendingRemoval> batch;
  {
    std::lock_guard lock(removals_mu);
    if (pending_removals.empty()) return;
    batch.swap(pending_removals);
  }
  for (const PendingRemoval& r : batch) {
    const RecordView gone(schema.get(), r.bytes);
    {
      std::lock_guard lock(StripeFor(r.pk_key));
      ValueHandle current = primary->FindStored(r.pk_key);
      const RecordView now(schema.get(), current ? current.value() : std::string_view());
      for (const Index& index : indexes) {
        const FieldValue was = gone.Get(index.field_index);
        if (was.is_null()) continue;
        // The key may have been cached again meanwhile; its own slots stay.
        if (current && now.Get(index.field_index) == was) continue;
        RemoveSlot(index, was, r.pk_key);
      }
    }
    if (events->Wants(RecordEventBit(RecordEventType::kEvicted))) {
      RecordEvent ev;
      ev.type = RecordEventType::kEvicted;
      ev.record = gone;
      ev.cause = r.cause;
      events->Emit(ev);
    }
  }
}

void RecordCacheImpl::ApplyChanges(std::span<const Change> changes) {
  for (const Change& c : changes) {
    if (c.kind == ChangeKind::kResync) {
      // The feed may have missed changes: a full sync, in the background, catches up.
      Log(LogLevel::kWarn, fmt::format("{}: change feed reconnected; resyncing", source->name()));
      auto scope = tasks;
      if (!executor->TrySubmit([this, scope] {
            if (!scope->Begin()) return;
            (void)Sync(/*incremental=*/false, /*automatic=*/false);  // failures are reported
            scope->End();
          })) {
        Log(LogLevel::kWarn, "resync skipped: the loader queue is full");
      }
      continue;
    }
    if (c.kind == ChangeKind::kDeleted) {
      const std::string pk_key = PkKey(c.primary_key.view());
      if (!RemoveByPkKey(pk_key, RemovalCause::kExplicit, RecordEventType::kItemRemoved) &&
          events->Wants(RecordEventBit(RecordEventType::kItemRemoved))) {
        RecordEvent ev;  // not cached: still report the deletion, by key
        ev.type = RecordEventType::kItemRemoved;
        ev.record = c.row.valid() ? c.row.view() : RecordView();
        ev.value = c.primary_key.view();
        events->Emit(ev);
      }
      continue;
    }
    if (!c.row.valid()) continue;
    Status s = UpsertRow(c.row);
    if (!s.ok()) {
      EmitError(s, "applying a change");
      continue;
    }
    if (events->Wants(RecordEventBit(RecordEventType::kItemCreated) |
                      RecordEventBit(RecordEventType::kItemUpdated))) {
      RecordEvent ev;
      ev.type = c.kind == ChangeKind::kCreated ? RecordEventType::kItemCreated
                                               : RecordEventType::kItemUpdated;
      ev.record = c.row.view();
      events->Emit(ev);
    }
  }
  FlushRemovals();
}

Status RecordCacheImpl::Invalidate(std::string_view field, const FieldValue& value) {
  std::vector<std::string> victims;
  if (field == schema->primary_key()) {
    Status s = CheckType(schema->field(pk_index), value);
    if (!s.ok()) return s;
    victims.push_back(PkKey(value));
  } else {
    const Index* index = FindIndex(field);
    if (index == nullptr) {
      return Status::InvalidArgument(
          fmt::format("{}: '{}' is not an indexed field", source->name(), field));
    }
    Status s = CheckType(schema->field(index->field_index), value);
    if (!s.ok()) return s;
    RecordLookup found;
    bool any_fresh = false;
    CollectByIndex(*index, value, &found, &any_fresh);
    for (size_t i = 0; i < found.count(); ++i) {
      victims.push_back(PkKey(found.record(i).Get(pk_index)));
    }
  }
  for (const std::string& pk_key : victims) {
    RemoveByPkKey(pk_key, RemovalCause::kExplicit, RecordEventType::kEvicted);
  }
  if (events->Wants(RecordEventBit(RecordEventType::kItemInvalidated))) {
    RecordEvent ev;
    ev.type = RecordEventType::kItemInvalidated;
    ev.field = field;
    ev.value = value;
    events->Emit(ev);
  }
  return Status::OK();
}

void RecordCacheImpl::Clear() {
  primary->Clear();
  misses->Clear();
  LockAllValueStripes();
  for (Index& index : indexes) {
    index.store->Clear();
    if (index.chunks) index.chunks->Clear();
  }
  UnlockAllValueStripes();
  {
    std::lock_guard lock(removals_mu);
    pending_removals.clear();
  }
  if (events->Wants(RecordEventBit(RecordEventType::kCleared))) {
    RecordEvent ev;
    ev.type = RecordEventType::kCleared;
    events->Emit(ev);
  }
}

size_t RecordCacheImpl::MarkAllStale() {
  const int64_t now = clock->NowNanos();
  struct Seen {
    std::string pk_key;
    std::string bytes;     // the version seen: a newer one, written since, is left alone
    int64_t stale_until;   // kNever: no stale window, the record goes
  };
  std::vector<Seen> seen;
  primary->ForEach([&](std::string_view key, std::string_view value, int64_t deadline,
                       int64_t stale_until) {
    if (stale_until != kNever && now < stale_until) {
      if (now < deadline) seen.push_back({std::string(key), std::string(value), stale_until});
    } else if (deadline == kNever || now < deadline) {
      seen.push_back({std::string(key), {}, kNever});
    }
  });
  size_t affected = 0;
  for (const Seen& s : seen) {
    if (s.stale_until == kNever) {
      affected += RemoveByPkKey(s.pk_key, RemovalCause::kExplicit, RecordEventType::kEvicted) ? 1 : 0;
      continue;
    }
    std::lock_guard lock(StripeFor(s.pk_key));
    NoteDirectWrite(s.pk_key);
    const ValueHandle current = primary->FindStored(s.pk_key);
    if (!current || current.value() != s.bytes) continue;
    // Same record and slots: only its deadline moves (to now; its stale window stays).
    if (primary->Put(s.pk_key, s.bytes, now, s.stale_until).ok()) ++affected;
  }
  FlushRemovals();
  return affected;
}

Status RecordCacheImpl::ClearField(std::string_view field) {
  const Index* index = FindIndex(field);
  if (index == nullptr) {
    return Status::InvalidArgument(
        fmt::format("{}: '{}' is not an indexed field", source->name(), field));
  }
  LockAllValueStripes();
  index->store->Clear();
  if (index->chunks) index->chunks->Clear();
  UnlockAllValueStripes();
  if (events->Wants(RecordEventBit(RecordEventType::kClearedField))) {
    RecordEvent ev;
    ev.type = RecordEventType::kClearedField;
    ev.field = field;
    events->Emit(ev);
  }
  return Status::OK();
}

}  // namespace larder
