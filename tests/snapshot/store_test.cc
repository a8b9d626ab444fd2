// SnapshotStore over a real RocksDB directory: publish, list, read back, leftovers of unfinished
// saves, pruning, and directories that are not snapshot directories.
#include <doctest/doctest.h>

#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

#include <rocksdb/db.h>

#include "temp_dir.h"
#include "snapshot/store.h"

namespace larder::snapshot {
namespace {

using Store = SnapshotStore;

std::unique_ptr<Store> OpenOrDie(const std::string& dir, Store::Access access) {
  Result<std::unique_ptr<Store>> s = Store::Open(dir, access);
  REQUIRE_MESSAGE(s.ok(), s.status().ToString());
  return std::move(*s);
}

// Writes `n` entries "k<i>" -> "v<i>" and publishes them under `name`.
SnapshotInfo Save(Store& store, int n, const std::string& name = "") {
  Result<std::unique_ptr<Store::Writer>> w = store.BeginSnapshot();
  REQUIRE(w.ok());
  for (int i = 0; i < n; ++i) {
    const std::string k = "k" + std::to_string(i), v = "v" + std::to_string(i);
    REQUIRE((*w)->Add({.key = k, .value = v, .expires_at_ms = i}).ok());
  }
  SnapshotInfo info;
  info.name = name;
  Result<SnapshotInfo> done = (*w)->Commit(info);
  REQUIRE(done.ok());
  return *done;
}

std::vector<std::string> Keys(Store& store, const SnapshotInfo& info) {
  std::vector<std::string> keys;
  Status s = store.ForEachBatch(info, [&](const BatchReader& b) {
    for (size_t i = 0; i < b.size(); ++i) keys.emplace_back(b.entry(i).key);
    return Status::OK();
  });
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return keys;
}

TEST_CASE("published snapshots are listed oldest first and read back in full") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  auto store = OpenOrDie(dir, Store::Access::kWrite);
  CHECK(store->Find(std::nullopt).status().code() == Status::Code::kNotFound);
  const int big = static_cast<int>(Store::kBatchEntries) * 2 + 5;  // three batches
  const SnapshotInfo a = Save(*store, 10, "a");
  const SnapshotInfo b = Save(*store, big, "b");
  CHECK(b.id > a.id);
  CHECK(b.batch_count == 3);
  CHECK(b.entry_count == static_cast<uint64_t>(big));
  CHECK(b.format_version == kSnapshotFormatVersion);

  Result<std::vector<SnapshotInfo>> all = store->List();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].name == "a");
  CHECK((*all)[1].name == "b");
  Result<SnapshotInfo> latest = store->Find(std::nullopt);
  REQUIRE(latest.ok());
  CHECK(latest->id == b.id);
  const std::vector<std::string> keys = Keys(*store, *latest);
  REQUIRE(keys.size() == static_cast<size_t>(big));
  CHECK(keys.front() == "k0");
  CHECK(keys.back() == "k" + std::to_string(big - 1));
  CHECK(Keys(*store, a).size() == 10);

  // A reader opened while the writer holds the directory sees the same snapshots.
  auto reader = OpenOrDie(dir, Store::Access::kRead);
  Result<SnapshotInfo> seen = reader->Find(a.id);
  REQUIRE(seen.ok());
  CHECK(seen->name == "a");
  CHECK(reader->BeginSnapshot().status().code() == Status::Code::kFailedPrecondition);
}

TEST_CASE("a snapshot whose save never finished is invisible and cleaned up by the next writer") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  SnapshotInfo first;
  {
    auto store = OpenOrDie(dir, Store::Access::kWrite);
    first = Save(*store, 10);
    Result<std::unique_ptr<Store::Writer>> w = store->BeginSnapshot();
    REQUIRE(w.ok());
    for (int i = 0; i < static_cast<int>(Store::kBatchEntries) + 1; ++i) {
      REQUIRE((*w)->Add({.key = "x" + std::to_string(i), .value = "y"}).ok());
    }
    // The writer is dropped without Commit: no manifest.
  }
  auto store = OpenOrDie(dir, Store::Access::kWrite);
  Result<std::vector<SnapshotInfo>> all = store->List();
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK((*all)[0].id == first.id);
  const SnapshotInfo next = Save(*store, 3);
  CHECK(next.id > first.id + 1);  // the abandoned id is never reused
  CHECK(Keys(*store, next).size() == 3);
}

TEST_CASE("leftover batches from a killed save are removed when a writer opens") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  {
    auto store = OpenOrDie(dir, Store::Access::kWrite);
    Save(*store, 5);
  }
  // What a save killed after RocksDB flushed some of its batches leaves: batches of snapshot 9
  // and no manifest.
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"manifests", {}}, {"batches", {}}};
  auto with_db = [&](const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    REQUIRE(rocksdb::DB::Open({}, dir, cfs, &handles, &raw).ok());
    fn(raw, handles[2]);
    for (auto* h : handles) (void)raw->DestroyColumnFamilyHandle(h);
    delete raw;
  };
  const std::string orphan_key("\0\0\0\0\0\0\0\x09\0\0\0\0", 12);
  with_db([&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* batches) {
    BatchWriter w;
    w.Add({.key = "x", .value = "y"});
    REQUIRE(db->Put({}, batches, orphan_key, w.Finish(9, 0)).ok());
  });
  {
    auto store = OpenOrDie(dir, Store::Access::kWrite);
    CHECK(store->List()->size() == 1);
    CHECK(Save(*store, 1).id == 10);  // after every id in use, leftovers included
  }
  with_db([&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* batches) {
    std::string value;
    CHECK(db->Get({}, batches, orphan_key, &value).IsNotFound());
  });
}

TEST_CASE("Prune keeps the newest snapshots and Delete removes one") {
  testing::TempDir tmp;
  auto store = OpenOrDie(tmp.File("snap"), Store::Access::kWrite);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Save(*store, i + 1).id);
  Result<std::vector<uint64_t>> gone = store->Prune(2);
  REQUIRE(gone.ok());
  CHECK(*gone == std::vector<uint64_t>{ids[0], ids[1], ids[2]});
  Result<std::vector<SnapshotInfo>> all = store->List();
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].id == ids[3]);
  CHECK(Keys(*store, (*all)[1]).size() == 5);
  REQUIRE(store->Delete(ids[4]).ok());
  CHECK(store->Delete(ids[4]).code() == Status::Code::kNotFound);
  CHECK(store->Find(std::nullopt)->id == ids[3]);
}

TEST_CASE("directories that are not snapshot directories are refused, never altered") {
  testing::TempDir tmp;
  SUBCASE("missing, for reading") {
    Result<std::unique_ptr<Store>> s = Store::Open(tmp.File("nope"), Store::Access::kRead);
    CHECK(s.status().code() == Status::Code::kNotFound);
    CHECK(s.status().message().find("nope") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(tmp.File("nope")));
  }
  SUBCASE("a directory of other files") {
    std::filesystem::create_directory(tmp.File("other"));
    std::ofstream(tmp.File("other/notes.txt")) << "hello";
    for (auto access : {Store::Access::kRead, Store::Access::kWrite}) {
      Result<std::unique_ptr<Store>> s = Store::Open(tmp.File("other"), access);
      CHECK(s.status().code() == Status::Code::kInvalidArgument);
      CHECK(s.status().message().find("not a larder snapshot directory") != std::string::npos);
    }
    CHECK(std::distance(std::filesystem::directory_iterator(tmp.File("other")),
                        std::filesystem::directory_iterator()) == 1);
  }
  SUBCASE("a file") {
    std::ofstream(tmp.File("file")) << "x";
    CHECK(Store::Open(tmp.File("file"), Store::Access::kWrite).status().code() ==
          Status::Code::kInvalidArgument);
  }
  SUBCASE("someone else's RocksDB database") {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    o.create_if_missing = true;
    REQUIRE(rocksdb::DB::Open(o, tmp.File("foreign"), &raw).ok());
    REQUIRE(raw->Put({}, "k", "v").ok());
    delete raw;
    Result<std::unique_ptr<Store>> s = Store::Open(tmp.File("foreign"), Store::Access::kWrite);
    CHECK(s.status().code() == Status::Code::kInvalidArgument);
    CHECK(s.status().message().find("RocksDB database but not a larder") != std::string::npos);
  }
  SUBCASE("a directory from a newer format") {
    {
      auto store = OpenOrDie(tmp.File("snap"), Store::Access::kWrite);
      Save(*store, 1);
    }
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"manifests", {}}, {"batches", {}}};
    REQUIRE(rocksdb::DB::Open({}, tmp.File("snap"), cfs, &handles, &raw).ok());
    REQUIRE(raw->Put({}, handles[0], "larder.snapshot.format", std::string("\0\0\0\x09", 4)).ok());
    for (auto* h : handles) (void)raw->DestroyColumnFamilyHandle(h);
    delete raw;
    Result<std::unique_ptr<Store>> s = Store::Open(tmp.File("snap"), Store::Access::kRead);
    CHECK(s.status().code() == Status::Code::kFailedPrecondition);
    CHECK(s.status().message().find("format version 9") != std::string::npos);
  }
}

TEST_CASE("a second writer on the same directory is told it is in use") {
  testing::TempDir tmp;
  auto store = OpenOrDie(tmp.File("snap"), Store::Access::kWrite);
  Result<std::unique_ptr<Store>> second = Store::Open(tmp.File("snap"), Store::Access::kWrite);
  CHECK(second.status().code() == Status::Code::kUnavailable);
  CHECK(second.status().message().find("in use") != std::string::npos);
}

}  // namespace
}  // namespace larder::snapshot
