#include "snapshot/store.h"

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "snapshot/manifest.h"

namespace larder::snapshot {
namespace {

constexpr const char* kManifestsCf = "manifests";
constexpr const char* kBatchesCf = "batches";
constexpr std::string_view kFormatKey = "larder.snapshot.format";
// The highest snapshot id ever handed out, so that ids are never reused (even after deletes).
constexpr std::string_view kLastIdKey = "larder.snapshot.last_id";

void PutBe(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetBe(std::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[offset + i]);
  return v;
}
std::string ManifestKey(uint64_t id) {
  std::string k;
  PutBe(&k, id, 8);
  return k;
}
std::string BatchKey(uint64_t id, uint32_t seq) {
  std::string k;
  PutBe(&k, id, 8);
  PutBe(&k, seq, 4);
  return k;
}

Status FromRocks(const rocksdb::Status& s, std::string_view dir, std::string_view what) {
  if (s.ok()) return Status::OK();
  std::string msg = fmt::format("snapshot directory '{}': {}: {}", dir, what, s.ToString());
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return Status::Unavailable(
        fmt::format("snapshot directory '{}' is in use by another writer ({})", dir,
                    s.ToString()));
  }
  if (s.IsIOError()) return Status::IOError(msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsInvalidArgument()) return Status::InvalidArgument(msg);
  return Status::Internal(msg);
}

rocksdb::ColumnFamilyOptions BatchFamilyOptions() {
  rocksdb::ColumnFamilyOptions cf;
  // Batches are large values written once and read in key order: big blocks, light compression.
  rocksdb::BlockBasedTableOptions table;
  table.block_size = 64 << 10;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  const auto supported = rocksdb::GetSupportedCompressions();
  const bool lz4 = std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) !=
                   supported.end();
  cf.compression = lz4 ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
  // Small memtables flush (and compress) in the background while the saver is still encoding;
  // with one large memtable most of that work waited for the commit (2M entries of 16-byte
  // keys and values: 0.34 s per save with 64 MiB, 0.22 s with 16 MiB).
  cf.write_buffer_size = 16 << 20;
  cf.max_write_buffer_number = 4;
  return cf;
}

}  // namespace

struct SnapshotStore::Db {
  std::unique_ptr<rocksdb::DB> db;
  rocksdb::ColumnFamilyHandle* defaults = nullptr;
  rocksdb::ColumnFamilyHandle* manifests = nullptr;
  rocksdb::ColumnFamilyHandle* batches = nullptr;
  bool writable = false;
  uint64_t last_id = 0;  // the highest id seen in either family when opened, or written since

  ~Db() {
    if (db == nullptr) return;
    for (auto* h : {defaults, manifests, batches}) {
      if (h != nullptr) (void)db->DestroyColumnFamilyHandle(h);
    }
    (void)db->Close();
  }
};

SnapshotStore::SnapshotStore(std::string dir, std::unique_ptr<Db> db)
    : dir_(std::move(dir)), db_(std::move(db)) {}
SnapshotStore::~SnapshotStore() = default;

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::Open(const std::string& dir,
                                                           Access access) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (!exists && access == Access::kRead) {
    return Status::NotFound(fmt::format("snapshot directory '{}' does not exist", dir));
  }
  if (exists && !fs::is_directory(dir, ec)) {
    return Status::InvalidArgument(fmt::format("'{}' is not a directory", dir));
  }
  const bool empty = !exists || fs::is_empty(dir, ec);
  if (!empty && !fs::exists(fs::path(dir) / "CURRENT", ec)) {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not a larder snapshot directory (it holds other files and no RocksDB database)",
        dir));
  }
  if (empty && access == Access::kRead) {
    return Status::InvalidArgument(
        fmt::format("'{}' is not a larder snapshot directory (it is empty)", dir));
  }
  if (!empty) {
    std::vector<std::string> families;
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &families);
    if (!s.ok()) return FromRocks(s, dir, "listing column families");
    const auto has = [&](const char* f) {
      return std::find(families.begin(), families.end(), f) != families.end();
    };
    if (!has(kManifestsCf) || !has(kBatchesCf) || families.size() != 3) {
      return Status::InvalidArgument(fmt::format(
          "'{}' is a RocksDB database but not a larder snapshot directory (column families: {})",
          dir, fmt::join(families, ", ")));
    }
  }

  rocksdb::DBOptions options;
  options.create_if_missing = access == Access::kWrite;
  options.create_missing_column_families = access == Access::kWrite;
  options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  options.keep_log_file_num = 2;
  options.max_background_jobs = 2;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kManifestsCf, rocksdb::ColumnFamilyOptions()},
      {kBatchesCf, BatchFamilyOptions()},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      access == Access::kWrite
          ? rocksdb::DB::Open(options, dir, descriptors, &handles, &raw)
          : rocksdb::DB::OpenForReadOnly(options, dir, descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, dir, "opening");
  auto db = std::make_unique<Db>();
  db->db.reset(raw);
  db->defaults = handles[0];
  db->manifests = handles[1];
  db->batches = handles[2];
  db->writable = access == Access::kWrite;

  // The format marker: written by the first writer, checked by everyone after.
  std::string marker;
  s = raw->Get(rocksdb::ReadOptions(), db->defaults, kFormatKey, &marker);
  if (s.IsNotFound()) {
    // A new directory (or one whose first writer stopped right after creating it: the column
    // families above already identify it as ours).
    if (access == Access::kWrite) {
      std::string value;
      PutBe(&value, kSnapshotFormatVersion, 4);
      rocksdb::WriteOptions wo;
      wo.sync = true;
      s = raw->Put(wo, db->defaults, kFormatKey, value);
      if (!s.ok()) return FromRocks(s, dir, "writing the format marker");
    }
  } else if (!s.ok()) {
    return FromRocks(s, dir, "reading the format marker");
  } else if (marker.size() != 4) {
    return Status::Corruption(fmt::format("snapshot directory '{}': format marker of {} bytes",
                                          dir, marker.size()));
  } else if (const uint64_t v = GetBe(marker, 0, 4); v > kSnapshotFormatVersion || v == 0) {
    return Status::FailedPrecondition(fmt::format(
        "snapshot directory '{}' has format version {}; this build of larder reads versions 1 "
        "to {}",
        dir, v, kSnapshotFormatVersion));
  }

  // The highest id in use, so new snapshots sort after every old one and after any leftovers.
  std::string last;
  s = raw->Get(rocksdb::ReadOptions(), db->defaults, kLastIdKey, &last);
  if (s.ok() && last.size() == 8) db->last_id = GetBe(last, 0, 8);
  for (auto* cf : {db->manifests, db->batches}) {
    std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator(rocksdb::ReadOptions(), cf));
    it->SeekToLast();
    if (it->Valid() && it->key().size() >= 8) {
      db->last_id = std::max(db->last_id, GetBe(it->key().ToStringView(), 0, 8));
    }
    if (!it->status().ok()) return FromRocks(it->status(), dir, "scanning");
  }
  std::unique_ptr<SnapshotStore> store(new SnapshotStore(dir, std::move(db)));
  if (access == Access::kWrite) {
    Status cleaned = store->RemoveUnpublished();
    if (!cleaned.ok()) return cleaned;
  }
  return store;
}

Result<std::vector<SnapshotInfo>> SnapshotStore::List() {
  std::vector<SnapshotInfo> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db->NewIterator(rocksdb::ReadOptions(), db_->manifests));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != 8) {
      return Status::Corruption(
          fmt::format("snapshot directory '{}': manifest key of {} bytes", dir_, key.size()));
    }
    const uint64_t id = GetBe(key, 0, 8);
    Result<SnapshotInfo> info = DecodeManifest(it->value().ToStringView());
    if (!info.ok()) {
      return info.status().WithContext(
          fmt::format("snapshot directory '{}': manifest of snapshot {}", dir_, id));
    }
    if (info->id != id) {
      return Status::Corruption(fmt::format(
          "snapshot directory '{}': manifest stored under id {} describes snapshot {}", dir_, id,
          info->id));
    }
    out.push_back(std::move(*info));
  }
  if (!it->status().ok()) return FromRocks(it->status(), dir_, "reading manifests");
  return out;
}

Result<SnapshotInfo> SnapshotStore::Find(std::optional<uint64_t> id) {
  Result<std::vector<SnapshotInfo>> all = List();
  if (!all.ok()) return all.status();
  if (all->empty()) {
    return Status::NotFound(fmt::format("snapshot directory '{}' holds no snapshot", dir_));
  }
  if (!id) return std::move(all->back());
  for (SnapshotInfo& info : *all) {
    if (info.id == *id) return std::move(info);
  }
  return Status::NotFound(fmt::format("snapshot directory '{}' holds no snapshot {}", dir_, *id));
}

Status SnapshotStore::ForEachBatch(const SnapshotInfo& info,
                                   const std::function<Status(const BatchReader&)>& fn) {
  const std::string lower = ManifestKey(info.id);
  const std::string upper = ManifestKey(info.id + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.verify_checksums = true;
  ro.fill_cache = false;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->db->NewIterator(ro, db_->batches));
  const auto where = [&](uint64_t seq) {
    return fmt::format("snapshot directory '{}': snapshot {}, batch {}", dir_, info.id, seq);
  };
  uint64_t expected_seq = 0;
  uint64_t entries = 0;
  std::string aligned;  // batches are decoded in place and need 8-byte alignment
  for (it->Seek(lower); it->Valid(); it->Next()) {
    const std::string_view key = it->key().ToStringView();
    if (key.size() != 12) {
      return Status::Corruption(
          fmt::format("snapshot directory '{}': snapshot {}: batch key of {} bytes", dir_,
                      info.id, key.size()));
    }
    const uint64_t seq = GetBe(key, 8, 4);
    if (seq != expected_seq) {
      return Status::Corruption(seq > expected_seq
                                    ? where(expected_seq) + ": missing"
                                    : where(seq) + ": out of order");
    }
    if (seq >= info.batch_count) {
      return Status::Corruption(
          fmt::format("{}: beyond the {} batches of the manifest", where(seq), info.batch_count));
    }
    aligned.assign(it->value().data(), it->value().size());
    Result<BatchReader> batch = BatchReader::Open(aligned);
    if (!batch.ok()) return batch.status().WithContext(where(seq));
    if (batch->snapshot_id() != info.id || batch->sequence() != seq) {
      return Status::Corruption(fmt::format("{}: holds batch {} of snapshot {}", where(seq),
                                            batch->sequence(), batch->snapshot_id()));
    }
    entries += batch->size();
    Status s = fn(*batch);
    if (!s.ok()) return s;
    ++expected_seq;
  }
  if (!it->status().ok()) {
    return FromRocks(it->status(), dir_, fmt::format("reading snapshot {}", info.id));
  }
  if (expected_seq != info.batch_count) return Status::Corruption(where(expected_seq) + ": missing");
  if (entries != info.entry_count) {
    return Status::Corruption(fmt::format(
        "snapshot directory '{}': snapshot {} holds {} entries, its manifest says {}", dir_,
        info.id, entries, info.entry_count));
  }
  return Status::OK();
}

Result<std::unique_ptr<SnapshotStore::Writer>> SnapshotStore::BeginSnapshot() {
  if (!db_->writable) {
    return Status::FailedPrecondition(
        fmt::format("snapshot directory '{}' is open for reading only", dir_));
  }
  const uint64_t id = db_->last_id + 1;
  std::string value;
  PutBe(&value, id, 8);
  Status s = FromRocks(db_->db->Put(rocksdb::WriteOptions(), db_->defaults, kLastIdKey, value),
                       dir_, "reserving a snapshot id");
  if (!s.ok()) return s;
  db_->last_id = id;
  return std::unique_ptr<Writer>(new Writer(this, id));
}

SnapshotStore::Writer::~Writer() {
  if (!committed_) (void)store_->RemoveBatches(id_);
}

Status SnapshotStore::Writer::Add(const EntryData& e, std::span<const std::string_view> tags) {
  batch_.Add(e, tags);
  if (batch_.size() >= kBatchEntries || batch_.payload_bytes() >= kBatchBytes) return Flush();
  return Status::OK();
}

Status SnapshotStore::Writer::Flush() {
  if (batch_.empty()) return Status::OK();
  entries_ += batch_.size();
  const std::string value = batch_.Finish(id_, batches_);
  bytes_ += value.size();
  // No write-ahead log: Commit flushes the batches to table files before the manifest is written.
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  rocksdb::Status s =
      store_->db_->db->Put(wo, store_->db_->batches, BatchKey(id_, batches_), value);
  ++batches_;
  return FromRocks(s, store_->dir_, fmt::format("writing batch {} of snapshot {}", batches_ - 1, id_));
}

Result<SnapshotInfo> SnapshotStore::Writer::Commit(SnapshotInfo info) {
  if (committed_) return Status::FailedPrecondition("snapshot already committed");
  Status s = Flush();
  if (!s.ok()) return s;
  rocksdb::FlushOptions fo;
  fo.wait = true;
  rocksdb::DB* db = store_->db_->db.get();
  s = FromRocks(db->Flush(fo, store_->db_->batches), store_->dir_, "flushing batches");
  if (!s.ok()) return s;
  info.id = id_;
  info.format_version = kSnapshotFormatVersion;
  info.entry_count = entries_;
  info.batch_count = batches_;
  info.byte_count = bytes_;
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = FromRocks(db->Put(wo, store_->db_->manifests, ManifestKey(id_), EncodeManifest(info)),
                store_->dir_, fmt::format("publishing snapshot {}", id_));
  if (!s.ok()) return s;
  committed_ = true;
  return info;
}

Status SnapshotStore::RemoveBatches(uint64_t id) {
  const std::string begin = ManifestKey(id);
  const std::string end = ManifestKey(id + 1);
  rocksdb::Slice b(begin), e(end);
  // Whole table files first (cheap, frees disk at once), then a tombstone for the rest.
  (void)rocksdb::DeleteFilesInRange(db_->db.get(), db_->batches, &b, &e);
  return FromRocks(db_->db->DeleteRange(rocksdb::WriteOptions(), db_->batches, b, e), dir_,
                   fmt::format("deleting the batches of snapshot {}", id));
}

Status SnapshotStore::RemoveUnpublished() {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db->NewIterator(rocksdb::ReadOptions(), db_->batches));
  std::vector<uint64_t> orphans;
  for (it->SeekToFirst(); it->Valid();) {
    if (it->key().size() < 8) {
      it->Next();
      continue;
    }
    const uint64_t id = GetBe(it->key().ToStringView(), 0, 8);
    std::string ignored;
    rocksdb::Status s =
        db_->db->Get(rocksdb::ReadOptions(), db_->manifests, ManifestKey(id), &ignored);
    if (s.IsNotFound()) orphans.push_back(id);
    else if (!s.ok()) return FromRocks(s, dir_, "reading manifests");
    if (id == UINT64_MAX) break;
    it->Seek(ManifestKey(id + 1));
  }
  if (!it->status().ok()) return FromRocks(it->status(), dir_, "scanning batches");
  for (uint64_t id : orphans) {
    Status s = RemoveBatches(id);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status SnapshotStore::Delete(uint64_t id) {
  if (!db_->writable) {
    return Status::FailedPrecondition(
        fmt::format("snapshot directory '{}' is open for reading only", dir_));
  }
  std::string ignored;
  rocksdb::Status s =
      db_->db->Get(rocksdb::ReadOptions(), db_->manifests, ManifestKey(id), &ignored);
  if (s.IsNotFound()) {
    return Status::NotFound(fmt::format("snapshot directory '{}' holds no snapshot {}", dir_, id));
  }
  if (!s.ok()) return FromRocks(s, dir_, "reading manifests");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  Status st = FromRocks(db_->db->Delete(wo, db_->manifests, ManifestKey(id)), dir_,
                        fmt::format("deleting snapshot {}", id));
  return st.ok() ? RemoveBatches(id) : st;
}

Result<std::vector<uint64_t>> SnapshotStore::Prune(size_t keep) {
  Result<std::vector<SnapshotInfo>> all = List();
  if (!all.ok()) return all.status();
  std::vector<uint64_t> deleted;
  for (size_t i = 0; i + keep < all->size(); ++i) {
    Status s = Delete((*all)[i].id);
    if (!s.ok()) return s;
    deleted.push_back((*all)[i].id);
  }
  return deleted;
}

Result<SnapshotToLoad> OpenForLoad(const std::string& dir, std::optional<uint64_t> id,
                                   SnapshotKind kind, std::string_view name) {
  Result<std::unique_ptr<SnapshotStore>> store = SnapshotStore::Open(dir, SnapshotStore::Access::kRead);
  if (!store.ok()) return store.status();
  Result<SnapshotInfo> info = (*store)->Find(id);
  if (!info.ok()) return info.status();
  if (info->kind != kind) {
    return Status::InvalidArgument(fmt::format(
        "snapshot {} in '{}' holds a {}; load it with {}::LoadSnapshot", info->id, dir,
        info->kind == SnapshotKind::kRecord ? "record cache" : "key-value cache",
        info->kind == SnapshotKind::kRecord ? "RecordCache" : "Cache"));
  }
  if (info->name != name) {
    return Status::InvalidArgument(fmt::format(
        "snapshot {} in '{}' was saved by cache '{}', not '{}'", info->id, dir, info->name, name));
  }
  return SnapshotToLoad{std::move(*store), std::move(*info)};
}

Result<SnapshotToSave> OpenForSave(const std::string& dir) {
  Result<std::unique_ptr<SnapshotStore>> store =
      SnapshotStore::Open(dir, SnapshotStore::Access::kWrite);
  if (!store.ok()) return store.status();
  Result<std::unique_ptr<SnapshotStore::Writer>> writer = (*store)->BeginSnapshot();
  if (!writer.ok()) return writer.status();
  // Member order destroys the writer (which may clean up) before the store.
  SnapshotToSave out;
  out.store = std::move(*store);
  out.writer = std::move(*writer);
  return out;
}

Result<SnapshotInfo> Publish(SnapshotStore& store, SnapshotStore::Writer& writer,
                             SnapshotInfo info, size_t keep_last) {
  Result<SnapshotInfo> published = writer.Commit(std::move(info));
  if (!published.ok()) return published.status();
  if (keep_last != 0) {
    Result<std::vector<uint64_t>> pruned = store.Prune(keep_last);
    if (!pruned.ok()) return pruned.status().WithContext("snapshot published, pruning failed");
  }
  return published;
}

}  // namespace larder::snapshot
