// Cache snapshots: SaveSnapshot walks the shards without locks into a SnapshotStore writer;
// LoadSnapshot checks every batch, then restores entries shard by shard (one lock per run).
#include <fmt/format.h>

#include <algorithm>

#include "base/hash.h"
#include "engine/cache_core.h"
#include "engine/wall_frame.h"
#include "index/tag_index.h"
#include "snapshot/store.h"

namespace larder::internal {
namespace {

using snapshot::BatchReader;
using snapshot::EntryData;
using snapshot::SnapshotStore;

// Restores are applied in runs of this many entries (per batch, sorted by shard).
constexpr size_t kRestoreRun = 4096;

}  // namespace

Result<SnapshotInfo> CacheCore::SaveSnapshot(const std::string& dir,
                                             const SaveSnapshotOptions& options) {
  Result<snapshot::SnapshotToSave> save = snapshot::OpenForSave(dir);
  if (!save.ok()) return save.status();
  SnapshotStore::Writer* writer = save->writer.get();
  const WallFrame frame(*clock_);
  Status failed;
  std::vector<std::string_view> tags;
  for (const auto& shard : shards_) {
    // One read section per shard: every entry seen stays readable; other shards reclaim freely.
    epoch::Guard guard;
    shard->ForEachLockFree([&](const EntryHeader* e) {
      if (!failed.ok()) return;
      const int64_t deadline = e->deadline.load(std::memory_order_relaxed);
      const int64_t stale_until = (e->flags & EntryHeader::kStale) ? e->stale_until() : kNever;
      if (!frame.Servable(deadline, stale_until)) return;  // left out
      EntryData d;
      d.key = e->key();
      d.value = e->value();
      d.expires_at_ms = frame.ToWall(deadline);
      d.stale_until_ms = frame.ToWall(stale_until);
      d.sliding_ttl_ns = (e->flags & EntryHeader::kSliding) ? e->sliding_ttl() : 0;
      tags.clear();
      index::ForEachTag(e->tags(), [&](std::string_view t) { tags.push_back(t); });
      failed = writer->Add(d, tags);
    });
    if (!failed.ok()) return failed;
  }
  SnapshotInfo info;
  info.created_at_ms = frame.wall_now;
  info.larder_version = LARDER_VERSION;
  info.kind = SnapshotKind::kKeyValue;
  info.name = options.name;
  return snapshot::Publish(*save->store, *writer, std::move(info), options.keep_last);
}

Result<LoadSnapshotResult> CacheCore::LoadSnapshot(const std::string& dir,
                                                   const LoadSnapshotOptions& options) {
  Result<snapshot::SnapshotToLoad> found =
      snapshot::OpenForLoad(dir, options.id, SnapshotKind::kKeyValue, options.name);
  if (!found.ok()) return found.status();
  SnapshotStore* store = found->store.get();
  SnapshotInfo* info = &found->info;
  // Pass 1: every batch is read and checked, and every entry must fit this cache, before
  // anything is written.
  std::vector<std::string_view> tags;
  std::string encoded;
  Status s = store->ForEachBatch(*info, [&](const BatchReader& batch) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const EntryData e = batch.entry(i);
      tags.clear();
      batch.ForEachTag(i, [&](std::string_view t) { tags.push_back(t); });
      Status fits = index::EncodeTagViews(tags, &encoded);
      if (fits.ok()) fits = CheckFits(e.key, e.value, encoded);
      if (!fits.ok()) {
        return fits.WithContext(fmt::format("snapshot directory '{}': snapshot {}, batch {}, "
                                            "entry {}",
                                            dir, info->id, batch.sequence(), i));
      }
    }
    return Status::OK();
  });
  if (!s.ok()) return s;

  // Pass 2: restore what is still alive.
  LoadSnapshotResult result;
  const WallFrame frame(*clock_);
  std::vector<RestoreItem> run;
  run.reserve(kRestoreRun);
  s = store->ForEachBatch(*info, [&](const BatchReader& batch) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const EntryData e = batch.entry(i);
      RestoreItem item;
      item.spec.key = e.key;
      item.spec.value = e.value;
      item.spec.deadline = frame.ToMono(e.expires_at_ms);
      item.spec.stale_until = frame.ToMono(e.stale_until_ms);
      item.spec.sliding_ttl = e.sliding_ttl_ns;
      if (!frame.Servable(item.spec.deadline, item.spec.stale_until)) {
        ++result.expired;
        continue;
      }
      item.hash = HashKey(e.key);
      tags.clear();
      batch.ForEachTag(i, [&](std::string_view t) { tags.push_back(t); });
      Status t = index::EncodeTagViews(tags, &item.tags);  // passed in pass 1 (unless the
      if (!t.ok()) return t;                                // store changed since)
      run.push_back(std::move(item));
      if (run.size() == kRestoreRun) {
        Status r = Restore(run, &result.loaded, &result.kept);
        run.clear();
        if (!r.ok()) return r;
      }
    }
    // Items view the batch: apply them before it goes.
    Status r = Restore(run, &result.loaded, &result.kept);
    run.clear();
    return r;
  });
  if (!s.ok()) return s;
  result.snapshot = std::move(found->info);
  return result;
}

Status CacheCore::Restore(std::span<RestoreItem> items, uint64_t* written, uint64_t* kept) {
  const auto shard_of = [this](const RestoreItem& item) { return (item.hash >> 1) >> shard_shift_; };
  std::sort(items.begin(), items.end(),
            [&](const RestoreItem& a, const RestoreItem& b) { return shard_of(a) < shard_of(b); });
  const bool want_sets = events_->Wants(EventBit(EventType::kSet));
  for (size_t begin = 0; begin < items.size();) {
    Shard& shard = ShardFor(items[begin].hash);
    size_t end = begin;
    epoch::Guard guard;  // removed entries stay readable for the events below
    RemovalList removed;
    RemovalList* report = events_->Wants(kRemovalEvents) ? &removed : nullptr;
    std::vector<size_t> set_events;
    bool advance = false;
    {
      MutexLock lock(shard.mu);
      for (; end < items.size() && &ShardFor(items[end].hash) == &shard; ++end) {
        RestoreItem& item = items[end];
        item.spec.tags = item.tags;
        const uint64_t slot = shard.Find(item.hash, item.spec.key);
        if (slot != 0) {
          const EntryHeader* e = shard.Entry(Table::IdOf(slot));
          const bool servable =
              Live(e) || ((e->flags & EntryHeader::kStale) && !clock_->Reached(e->stale_until()));
          if (servable) {
            ++*kept;
            continue;
          }
        }
        Result<NodeId> id = shard.NewEntry(item.spec);
        if (!id.ok()) return id.status();
        (void)shard.Publish(item.hash, *id, report);
        ++*written;
        if (want_sets) set_events.push_back(end);
      }
      advance = MaybeReclaim(shard);
    }
    if (advance) AdvanceEpoch();
    for (size_t i : set_events) {
      CacheEvent ev;
      ev.type = EventType::kSet;
      ev.key = items[i].spec.key;
      ev.value = items[i].spec.value;
      Emit(ev);
    }
    EmitRemovals(shard, removed);
    begin = end;
  }
  return Status::OK();
}

}  // namespace larder::internal
