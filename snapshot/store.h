// SnapshotStore: the snapshots of one directory, kept in RocksDB (layout in
// docs/snapshot-format.md). Column family "manifests" maps id -> manifest, "batches" maps
// (id, sequence) -> batch; "default" holds the directory's format marker. A snapshot is
// published by writing its manifest after its batches are durable, so readers see it whole or
// not at all.
//
// Thread safety: one thread at a time per store object. A directory is written by one store at
// a time (RocksDB's lock; a second writer gets Unavailable); read-only stores may coexist with a
// writer and see the snapshots published when they opened.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/snapshot.h"
#include "larder/status.h"
#include "snapshot/batch.h"

namespace larder::snapshot {

class SnapshotStore {
 public:
  enum class Access : uint8_t { kRead, kWrite };

  // kRead: `dir` must be a snapshot directory. kWrite: created when missing or empty; removes
  // the leftovers of snapshots whose save never finished. NotFound when a directory to read
  // does not exist; InvalidArgument naming `dir` when it holds something else; FailedPrecondition
  // for a newer format; Unavailable when another writer holds it.
  static Result<std::unique_ptr<SnapshotStore>> Open(const std::string& dir, Access access);
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  const std::string& dir() const noexcept { return dir_; }

  // Published snapshots, oldest first. Corruption names a manifest that fails its checks.
  Result<std::vector<SnapshotInfo>> List();
  // Snapshot `id`, or the newest when unset. NotFound when there is no such snapshot.
  Result<SnapshotInfo> Find(std::optional<uint64_t> id);
  // Calls fn for each batch of `info` in sequence order, each checked first. Corruption names
  // the snapshot and batch (also for a missing or surplus batch or an entry count that differs
  // from the manifest); an error from fn stops the walk and is returned.
  Status ForEachBatch(const SnapshotInfo& info,
                      const std::function<Status(const BatchReader&)>& fn);

  // Writes one snapshot. Batches go out as they fill; Commit publishes. A writer destroyed
  // without a successful Commit deletes what it wrote. REQUIRES: a kWrite store that outlives it.
  class Writer {
   public:
    ~Writer();
    Writer(const Writer&) = delete;
    Writer& operator=(const Writer&) = delete;
    uint64_t id() const noexcept { return id_; }
    Status Add(const EntryData& e, std::span<const std::string_view> tags = {});
    // Publishes the snapshot described by `info` (id, counts, format and version are filled
    // in here) and returns the manifest as stored.
    Result<SnapshotInfo> Commit(SnapshotInfo info);

   private:
    friend class SnapshotStore;
    Writer(SnapshotStore* store, uint64_t id) : store_(store), id_(id) {}
    Status Flush();

    SnapshotStore* store_;
    uint64_t id_;
    BatchWriter batch_;
    uint32_t batches_ = 0;
    uint64_t entries_ = 0;
    uint64_t bytes_ = 0;
    bool committed_ = false;
  };
  Result<std::unique_ptr<Writer>> BeginSnapshot();

  // Deletes snapshot `id` (manifest first, so it vanishes at once). NotFound when absent.
  Status Delete(uint64_t id);
  // Deletes all but the newest `keep` snapshots; returns the ids deleted.
  Result<std::vector<uint64_t>> Prune(size_t keep);

  // Batches hold at most this many entries, or about this many key and value bytes.
  static constexpr size_t kBatchEntries = 8192;
  static constexpr size_t kBatchBytes = size_t{1} << 20;

 private:
  struct Db;
  SnapshotStore(std::string dir, std::unique_ptr<Db> db);
  Status RemoveBatches(uint64_t id);
  Status RemoveUnpublished();

  std::string dir_;
  std::unique_ptr<Db> db_;
};

// The snapshot a load asked for, with its store open for reading.
struct SnapshotToLoad {
  std::unique_ptr<SnapshotStore> store;
  SnapshotInfo info;
};
// Opens `dir` for reading and finds snapshot `id` (the newest when unset). InvalidArgument when
// it holds another kind of cache or was saved under another name; Open's and Find's errors.
Result<SnapshotToLoad> OpenForLoad(const std::string& dir, std::optional<uint64_t> id,
                                   SnapshotKind kind, std::string_view name);

// A new snapshot being written into a store open for writing.
struct SnapshotToSave {
  std::unique_ptr<SnapshotStore> store;
  std::unique_ptr<SnapshotStore::Writer> writer;
};
// Opens `dir` for writing (created when missing) and begins a snapshot.
Result<SnapshotToSave> OpenForSave(const std::string& dir);

// Commits `writer` with `info`, then prunes `store` to the newest `keep_last` (0 = keep all).
Result<SnapshotInfo> Publish(SnapshotStore& store, SnapshotStore::Writer& writer,
                             SnapshotInfo info, size_t keep_last);

}  // namespace larder::snapshot
