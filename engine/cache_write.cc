// CacheCore writes: validation, Set, SetMany, Delete, Clear.
#include "engine/cache_core.h"

#include <fmt/format.h>

#include "base/hash.h"
#include "engine/single_flight.h"
#include "index/tag_index.h"

namespace larder::internal {

Status CacheCore::CheckSizes(std::string_view key, std::string_view value) const {
  if (key.size() > kMaxKeySize) {
    return Status::InvalidArgument(
        fmt::format("key: {} bytes exceeds the limit of {} bytes", key.size(), kMaxKeySize));
  }
  if (value.size() > kMaxValueSize) {
    return Status::InvalidArgument(
        fmt::format("value for key {}: {} bytes exceeds the limit of {} bytes", QuoteKey(key),
                    value.size(), kMaxValueSize));
  }
  return Status::OK();
}

Status CacheCore::ResolveWrite(const WriteOptions& options, int64_t now, EntrySpec* spec,
                               std::string* tags) const {
  const std::optional<Duration> ttl = options.ttl ? options.ttl : options_.default_ttl;
  if (options.ttl && options.ttl->count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("ttl: must be positive, got {} ns", options.ttl->count()));
  }
  if (options.sliding && !ttl) {
    return Status::InvalidArgument(
        "sliding: expire-after-access needs a ttl (none given and no default_ttl)");
  }
  tags->clear();
  if (!options.tags.empty()) {
    Status s = index::EncodeTags(options.tags, tags);
    if (!s.ok()) return s;
  }
  spec->tags = *tags;
  spec->deadline = kNever;
  spec->sliding_ttl = 0;
  spec->pinned = options.pin;
  if (ttl) {
    const int64_t n = ttl->count();
    spec->deadline = DeadlineAfter(now, n);
    if (options.sliding) spec->sliding_ttl = n;
  }
  return Status::OK();
}

Status CacheCore::CheckWeight(uint64_t hash, std::string_view key, std::string_view value,
                              std::string_view encoded_tags) const {
  const Shard& shard = ShardFor(hash);
  if (shard.limits().max_bytes == 0) return Status::OK();
  const uint64_t weight = shard.BoundWeight(key, value, encoded_tags);
  if (weight > shard.limits().max_bytes) {
    return Status::InvalidArgument(fmt::format(
        "value for key {}: entry weight {} exceeds its shard's share of max_bytes ({} of {} over "
        "{} shards)",
        QuoteKey(key), weight, shard.limits().max_bytes, options_.max_bytes, shards_.size()));
  }
  return Status::OK();
}

Status CacheCore::Write(uint64_t hash, const EntrySpec& spec, EventType event,
                        ValueHandle* replaced, bool loaded, const Flight* flight) {
  Status fits = CheckWeight(hash, spec.key, spec.value, spec.tags);
  if (!fits.ok()) return fits;
  Shard& shard = ShardFor(hash);
  // Entered before anything is removed, so removed entries stay readable for the events.
  epoch::Guard guard;
  RemovalList removed;
  RemovalList* report = events_->Wants(kRemovalEvents) ? &removed : nullptr;
  bool advance;
  {
    MutexLock lock(shard.mu);
    if (flight == nullptr) {
      shard.SupersedeFlight(spec.key);
    } else if (flight->superseded) {
      return Status::OK();  // changed while it loaded: its callers get the value, nobody else
    }
    Result<NodeId> id = shard.NewEntry(spec);
    if (!id.ok()) return id.status();
    const NodeId old = shard.Publish(hash, *id, report);
    if (replaced != nullptr && old != kNoNode) {
      // Retired, but `guard` keeps it readable; the handle's own read section takes over.
      epoch::Enter();
      const EntryHeader* o = shard.Entry(old);
      *replaced = ValueHandle(o->key(), o->value(), Pin());
    }
    advance = MaybeReclaim(shard);
  }
  if (advance) AdvanceEpoch();
  if (events_->Wants(EventBit(event))) {
    CacheEvent ev;
    ev.type = event;
    ev.key = spec.key;
    ev.value = spec.value;
    ev.loaded = loaded;
    Emit(ev);
  }
  EmitRemovals(shard, removed);
  return Status::OK();
}

Status CacheCore::Set(std::string_view key, std::string_view value, const WriteOptions& options) {
  Status s = CheckSizes(key, value);
  if (!s.ok()) return s;
  EntrySpec spec;
  spec.key = key;
  spec.value = value;
  const std::optional<Duration>& ttl = options.ttl ? options.ttl : options_.default_ttl;
  std::string tags;
  s = ResolveWrite(options, ttl ? clock_->NowForDeadline(ttl->count()) : 0, &spec, &tags);
  if (!s.ok()) return s;
  return Write(HashKey(key), spec, EventType::kSet);
}

Status CacheCore::SetMany(std::span<const KeyValue> items, const WriteOptions& options) {
  EntrySpec probe;
  std::string tags;
  Status s = ResolveWrite(options, 0, &probe, &tags);
  if (!s.ok()) return s;
  for (size_t i = 0; i < items.size(); ++i) {
    s = CheckSizes(items[i].key, items[i].value);
    if (s.ok()) s = CheckWeight(HashKey(items[i].key), items[i].key, items[i].value, tags);
    if (!s.ok()) return Status::InvalidArgument(fmt::format("items[{}]: {}", i, s.message()));
  }
  for (const KeyValue& kv : items) {
    s = Set(kv.key, kv.value, options);
    if (!s.ok()) return s;  // only ResourceExhausted can get here
  }
  return Status::OK();
}

bool CacheCore::Delete(std::string_view key) {
  if (key.size() > kMaxKeySize) return false;
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Guard guard;
  RemovalList removed;
  NodeId id;
  bool advance = false;
  {
    MutexLock lock(shard.mu);
    shard.SupersedeFlight(key);
    id = shard.Remove(hash, key, RemovalCause::kExplicit,
                      events_->Wants(kRemovalEvents) ? &removed : nullptr);
    if (id != kNoNode) advance = MaybeReclaim(shard);
  }
  if (advance) AdvanceEpoch();
  EmitRemovals(shard, removed);
  const bool live = id != kNoNode && Live(shard.Entry(id));
  if (events_->Wants(EventBit(EventType::kInvalidated))) {
    CacheEvent ev;
    ev.type = EventType::kInvalidated;
    ev.key = key;
    Emit(ev);
  }
  return live;
}

void CacheCore::Matching(Shard& shard, const index::GlobPattern& pattern,
                         std::vector<NodeId>* out) {
  const std::string& prefix = pattern.literal_prefix();
  if (shard.has_prefix_index() && !prefix.empty()) {
    const bool all = pattern.prefix_only();  // every key under the prefix matches
    shard.ForEachWithPrefix(prefix, [&](std::string_view key, NodeId id) {
      if (all || pattern.Match(key)) out->push_back(id);
    });
    return;
  }
  shard.ForEachLockFree([&](const EntryHeader* e) {
    if (pattern.Match(e->key())) out->push_back(shard.space_id(e));
  });
}

size_t CacheCore::RemoveMatching(
    const std::function<void(Shard&, std::vector<NodeId>*)>& select, InvalidationScope scope,
    std::string_view name) {
  size_t live = 0;
  std::vector<NodeId> ids;
  for (const auto& shard : shards_) {
    epoch::Guard guard;  // removed entries stay readable for the events below
    RemovalList removed;
    RemovalList* report = events_->Wants(kRemovalEvents) ? &removed : nullptr;
    bool advance = false;
    {
      MutexLock lock(shard->mu);
      ids.clear();
      select(*shard, &ids);
      for (NodeId id : ids) live += Live(shard->Entry(id)) ? 1 : 0;
      if (!ids.empty()) {
        shard->RemoveEntries(ids, RemovalCause::kExplicit, report);
        advance = MaybeReclaim(*shard);
      }
    }
    if (advance) AdvanceEpoch();
    EmitRemovals(*shard, removed, scope);
  }
  if (scope != InvalidationScope::kKey && events_->Wants(EventBit(EventType::kInvalidated))) {
    CacheEvent ev;
    ev.type = EventType::kInvalidated;
    ev.key = name;
    ev.scope = scope;
    Emit(ev);
  }
  return live;
}

size_t CacheCore::InvalidatePattern(const index::GlobPattern& pattern) {
  if (pattern.exact()) return Delete(pattern.literal_prefix()) ? 1 : 0;  // reported as a Delete
  return RemoveMatching(
      [&](Shard& shard, std::vector<NodeId>* ids) {
        shard.mu.AssertHeld();
        shard.SupersedeFlights([&](std::string_view key) { return pattern.Match(key); });
        Matching(shard, pattern, ids);
      },
      InvalidationScope::kPattern, pattern.text());
}

size_t CacheCore::InvalidateByTag(std::string_view tag) {
  return RemoveMatching(
      [&](Shard& shard, std::vector<NodeId>* ids) {
        shard.mu.AssertHeld();
        shard.SupersedeFlights({});  // a load's tags are not known before it stores
        shard.CollectTagged(tag, ids);
      },
      InvalidationScope::kTag, tag);
}

size_t CacheCore::MarkAllStale() {
  const int64_t now = clock_->NowNanos();
  size_t stale = 0;
  const size_t removed = RemoveMatching(
      [&](Shard& shard, std::vector<NodeId>* ids) {
        shard.mu.AssertHeld();
        shard.SupersedeFlights({});
        shard.ForEachLockFree([&](const EntryHeader* e) {
          if (!(e->flags & EntryHeader::kStale)) {
            ids->push_back(shard.space_id(e));
          } else if (Live(e)) {
            // Writers change a stale-capable entry's deadline only under this lock (readers move
            // sliding deadlines, and stale-capable entries are never sliding).
            const_cast<EntryHeader*>(e)->deadline.store(now, std::memory_order_relaxed);
            ++stale;
          }
        });
      },
      InvalidationScope::kKey, {});
  return removed + stale;
}

std::vector<std::string> CacheCore::Keys(const index::GlobPattern& pattern, size_t limit) {
  std::vector<std::string> keys;
  std::vector<NodeId> ids;
  for (const auto& shard : shards_) {
    epoch::Guard guard;
    ids.clear();
    if (shard->has_prefix_index() && !pattern.literal_prefix().empty()) {
      MutexLock lock(shard->mu);
      Matching(*shard, pattern, &ids);
    } else {
      shard->ForEachLockFree([&](const EntryHeader* e) {
        if (pattern.Match(e->key())) ids.push_back(shard->space_id(e));
      });
    }
    for (NodeId id : ids) {
      if (limit != 0 && keys.size() >= limit) return keys;
      const EntryHeader* e = shard->Entry(id);
      if (Live(e)) keys.emplace_back(e->key());
    }
  }
  return keys;
}

void CacheCore::Clear() {
  for (const auto& shard : shards_) {
    MutexLock lock(shard->mu);
    shard->SupersedeFlights({});
    shard->RemoveAll(RemovalCause::kExplicit, nullptr);
  }
  CacheEvent ev;
  ev.type = EventType::kClear;
  if (events_->Wants(EventBit(EventType::kClear))) Emit(ev);
}

}  // namespace larder::internal
