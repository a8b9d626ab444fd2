// RecordCache snapshots: records from the primary store with their deadlines, the schema and
// the index definitions; loading validates everything first, then applies through BulkUpsert
// (indexes rebuilt as records go in) as a sync would, so concurrent writers win.
#include <fmt/format.h>

#include <algorithm>
#include <random>

#include "engine/record_bulk.h"
#include "engine/record_cache_impl.h"
#include "engine/wall_frame.h"
#include "snapshot/store.h"

namespace larder {
namespace {

using snapshot::BatchReader;
using snapshot::EntryData;
using snapshot::SnapshotStore;

std::vector<std::pair<std::string, bool>> IndexDefs(const RecordCacheOptions& options) {
  std::vector<std::pair<std::string, bool>> defs;
  for (const KeyField& k : options.key_fields) defs.emplace_back(k.name, k.unique);
  std::sort(defs.begin(), defs.end());
  return defs;
}

std::string DescribeIndexes(const std::vector<std::pair<std::string, bool>>& defs) {
  if (defs.empty()) return "none";
  std::string out;
  for (const auto& [field, unique] : defs) {
    if (!out.empty()) out += ", ";
    out += field + (unique ? " (unique)" : " (multi)");
  }
  return out;
}

}  // namespace

Result<SnapshotInfo> RecordCacheImpl::SaveSnapshot(const std::string& dir,
                                                   const SaveSnapshotOptions& options) {
  Result<snapshot::SnapshotToSave> save = snapshot::OpenForSave(dir);
  if (!save.ok()) return save.status();
  SnapshotStore::Writer* writer = save->writer.get();
  const internal::WallFrame frame(*clock);
  Status failed;
  primary->ForEach([&](std::string_view key, std::string_view value, int64_t deadline,
                       int64_t stale_until) {
    if (!failed.ok()) return;
    if (!frame.Servable(deadline, stale_until)) return;  // left out
    EntryData d;
    d.key = key;
    d.value = value;
    d.expires_at_ms = frame.ToWall(deadline);
    d.stale_until_ms = frame.ToWall(stale_until);
    failed = writer->Add(d);
  });
  if (!failed.ok()) return failed;
  SnapshotInfo info;
  info.created_at_ms = frame.wall_now;
  info.larder_version = LARDER_VERSION;
  info.kind = SnapshotKind::kRecord;
  info.name = options.name.empty() ? std::string(source->name()) : options.name;
  info.fields = schema->fields();
  info.primary_key = schema->primary_key();
  info.indexes = IndexDefs(this->options);
  return snapshot::Publish(*save->store, *writer, std::move(info), options.keep_last);
}

Status RecordCacheImpl::CheckSnapshotMatches(const SnapshotInfo& info,
                                             const std::string& dir) const {
  const auto refuse = [&](const std::string& what) {
    return Status::InvalidArgument(
        fmt::format("snapshot {} in '{}' does not match this cache: {}", info.id, dir, what));
  };
  Result<std::shared_ptr<const Schema>> theirs = Schema::Create(info.fields, info.primary_key);
  if (!theirs.ok()) {
    return refuse(fmt::format("its record schema is invalid: {}", theirs.status().message()));
  }
  if (!(**theirs == *schema)) {
    return refuse(fmt::format("record schema {} here, {} in the snapshot", schema->ToString(),
                              (*theirs)->ToString()));
  }
  std::vector<std::pair<std::string, bool>> saved = info.indexes;
  std::sort(saved.begin(), saved.end());
  const auto ours = IndexDefs(options);
  if (saved != ours) {
    return refuse(fmt::format("indexes {} here, {} in the snapshot", DescribeIndexes(ours),
                              DescribeIndexes(saved)));
  }
  return Status::OK();
}

Result<LoadSnapshotResult> RecordCacheImpl::LoadSnapshot(const std::string& dir,
                                                         const LoadSnapshotOptions& options) {
  Result<snapshot::SnapshotToLoad> found = snapshot::OpenForLoad(
      dir, options.id, SnapshotKind::kRecord,
      options.name.empty() ? std::string(source->name()) : options.name);
  if (!found.ok()) return found.status();
  SnapshotStore* store = found->store.get();
  SnapshotInfo* info = &found->info;
  Status s = CheckSnapshotMatches(*info, dir);
  if (!s.ok()) return s;

  const auto where = [&](const BatchReader& batch, size_t i) {
    return fmt::format("snapshot directory '{}': snapshot {}, batch {}, entry {}", dir, info->id,
                       batch.sequence(), i);
  };
  // Pass 1: every record decodes against our schema, sits under its own primary key and fits.
  s = store->ForEachBatch(*info, [&](const BatchReader& batch) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const EntryData e = batch.entry(i);
      Result<Record> r = Record::FromBytes(schema, e.value);
      if (!r.ok()) {
        return Status::Corruption(fmt::format("{}: {}", where(batch, i), r.status().message()));
      }
      if (PkKey(r->Get(pk_index)) != e.key) {
        return Status::Corruption(
            fmt::format("{}: stored under a key that is not its primary key", where(batch, i)));
      }
      Status fits = primary->CheckFits(e.key, e.value);
      if (!fits.ok()) return fits.WithContext(where(batch, i));
    }
    return Status::OK();
  });
  if (!s.ok()) return s;

  // Pass 2: like a sync, so that records written by others meanwhile keep their version.
  LoadSnapshotResult result;
  const internal::WallFrame frame(*clock);
  BeginSyncApply();
  {
    BulkUpsert bulk(this, Origin::kSync, /*parallel=*/true,
                    std::random_device{}() ^ static_cast<uint64_t>(frame.mono_now));
    s = store->ForEachBatch(*info, [&](const BatchReader& batch) {
      for (size_t i = 0; i < batch.size(); ++i) {
        const EntryData e = batch.entry(i);
        const int64_t deadline = frame.ToMono(e.expires_at_ms);
        const int64_t stale_until = frame.ToMono(e.stale_until_ms);
        if (!frame.Servable(deadline, stale_until)) {
          ++result.expired;
          continue;
        }
        internal::CacheCore::EntryState state;
        if (primary->Find(e.key, &state)) {
          ++result.kept;
          continue;
        }
        Result<Record> r = Record::FromBytes(schema, e.value);
        if (!r.ok()) return r.status();  // checked in pass 1; only a changed file gets here
        Status added = bulk.Add(std::move(*r), deadline);
        if (!added.ok()) return added;
        ++result.loaded;
      }
      return Status::OK();
    });
    Status finished = bulk.Finish();
    if (s.ok()) s = finished;
  }
  EndSyncApply();
  if (!s.ok()) return s;
  result.snapshot = std::move(found->info);
  return result;
}

}  // namespace larder
