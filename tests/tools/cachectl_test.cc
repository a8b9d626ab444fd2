// cachectl's commands in-process, over snapshots written by real caches.
#include <doctest/doctest.h>
#include <signal.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "larder/cache.h"
#include "larder/function_source.h"
#include "child_process.h"
#include "larder/record_cache.h"
#include "temp_dir.h"
#include "tools/commands.h"

namespace larder::tools {
namespace {

using Json = nlohmann::ordered_json;
constexpr int64_t kWall0 = 1'700'000'000'000;

struct Run {
  std::ostringstream out, err;
  Output o{out, err};
  explicit Run(bool json = false) {
    o.json = json;
    o.now_ms = kWall0;
  }
};

// A key-value snapshot: 50 "user:" keys (half with a 1-minute TTL), 30 "sess:" keys, one
// binary key. Returns its id.
uint64_t SaveKv(const std::string& dir, const std::string& extra_value = "") {
  auto clock = std::make_shared<ManualClock>(kWall0);
  auto cache = *Cache::Open({.clock = clock, .maintenance_interval = Duration::zero()});
  for (int i = 0; i < 50; ++i) {
    WriteOptions w;
    if (i % 2 == 0) w.ttl = std::chrono::minutes(1);
    REQUIRE(cache->Set("user:" + std::to_string(i), "u" + std::to_string(i), w).ok());
  }
  for (int i = 0; i < 30; ++i) REQUIRE(cache->Set("sess:" + std::to_string(i), "s").ok());
  REQUIRE(cache->Set(std::string("bin\0\xff", 5), std::string("\x01\x02", 2)).ok());
  if (!extra_value.empty()) REQUIRE(cache->Set("user:0", extra_value).ok());
  Result<SnapshotInfo> s = cache->SaveSnapshot(dir, {.name = "app"});
  REQUIRE(s.ok());
  return s->id;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST_CASE("cachectl list, info and stats describe a snapshot, as text and JSON") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  const uint64_t id = SaveKv(dir);
  {
    Run r;
    CHECK(List(r.o, dir) == kExitOk);
    CHECK(r.out.str().find("key-value") != std::string::npos);
    CHECK(r.out.str().find("app") != std::string::npos);
  }
  {
    Run r(true);
    REQUIRE(Info(r.o, dir, std::nullopt) == kExitOk);
    const Json j = Json::parse(r.out.str());
    CHECK(j["id"] == id);
    CHECK(j["entries"] == 81);
    CHECK(j["name"] == "app");
    CHECK(j["createdAt"] == kWall0);
  }
  {
    Run r(true);
    REQUIRE(Stats(r.o, dir, id) == kExitOk);
    const Json j = Json::parse(r.out.str());
    CHECK(j["entries"] == 81);
    CHECK(j["ttlAtSave"]["<= 1 minute"] == 25);
    CHECK(j["ttlAtSave"]["never"] == 56);
    CHECK(j["topPrefixes"][0]["prefix"] == "user:");
    CHECK(j["topPrefixes"][0]["entries"] == 50);
    CHECK(j["topPrefixes"][1]["prefix"] == "sess:");
  }
  {
    Run r;
    CHECK(Stats(r.o, dir, id) == kExitOk);
    CHECK(r.out.str().find("top key prefixes") != std::string::npos);
  }
}

TEST_CASE("cachectl dump filters by prefix and glob, limits, and get finds one key") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  const uint64_t id = SaveKv(dir);
  {
    Run r(true);
    REQUIRE(Dump(r.o, dir, std::nullopt, {.prefix = "sess:", .limit = 0}) == kExitOk);
    CHECK(Json::parse(r.out.str()).size() == 30);
  }
  {
    Run r(true);
    REQUIRE(Dump(r.o, dir, std::nullopt, {.pattern = "user:1?", .limit = 0}) == kExitOk);
    const Json j = Json::parse(r.out.str());
    CHECK(j.size() == 10);
    for (const Json& e : j) CHECK(e["key"].get<std::string>().size() == 7);
  }
  {
    Run r;
    REQUIRE(Dump(r.o, dir, std::nullopt, {.limit = 5}) == kExitOk);
    CHECK(r.out.str().find("(5 of 81 matching entries shown") != std::string::npos);
    CHECK(r.out.str().find("EXPIRES") != std::string::npos);
  }
  {
    Run r(true);
    REQUIRE(Dump(r.o, dir, std::nullopt, {.prefix = "bin"}) == kExitOk);
    const Json j = Json::parse(r.out.str());
    REQUIRE(j.size() == 1);
    CHECK(j[0].contains("key_base64"));  // not UTF-8: base64, never mangled
    CHECK(j[0]["value"] == std::string("\x01\x02", 2));
  }
  {
    Run r;
    REQUIRE(Get(r.o, dir, id, "user:7") == kExitOk);
    CHECK(r.out.str() == "u7\n");
    Run missing;
    CHECK(Get(missing.o, dir, id, "user:99") == kExitNotFound);
    CHECK(missing.err.str().find("user:99") != std::string::npos);
  }
}

// Rewrites stored values of `dir` through RocksDB: column family `cf`, every key `fn` changes.
void Tamper(const std::string& dir, int cf,
            const std::function<void(rocksdb::DB*, rocksdb::ColumnFamilyHandle*)>& fn) {
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"manifests", {}}, {"batches", {}}};
  REQUIRE(rocksdb::DB::Open({}, dir, cfs, &handles, &raw).ok());
  fn(raw, handles[cf]);
  for (auto* h : handles) (void)raw->DestroyColumnFamilyHandle(h);
  delete raw;
}

TEST_CASE("cachectl shows progress on a terminal and clears it when done") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  SaveKv(dir);
  Run quiet;
  REQUIRE(Verify(quiet.o, dir, std::nullopt) == kExitOk);
  CHECK(quiet.err.str().empty());  // not a terminal
  Run shown;
  shown.o.progress = true;
  shown.o.progress_after = std::chrono::milliseconds(0);  // instead of after a second
  REQUIRE(Verify(shown.o, dir, std::nullopt) == kExitOk);
  const std::string err = shown.err.str();
  CHECK(err.find("verify 1 [########################] 100%") != std::string::npos);
  CHECK(err.back() == '\r');  // the line is blanked out at the end
}

TEST_CASE("cachectl verify passes intact snapshots and names what is damaged") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  SaveKv(dir);
  const uint64_t second = SaveKv(dir);
  {
    Run r;
    CHECK(Verify(r.o, dir, std::nullopt) == kExitOk);
    CHECK(r.out.str().find("snapshot 2: ok (81 entries in 1 batches)") != std::string::npos);
  }
  SUBCASE("a flipped byte in a batch") {
    Tamper(dir, 2, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
      it->SeekToLast();
      std::string v = it->value().ToString();
      v[v.size() / 2] ^= 0x40;
      REQUIRE(db->Put({}, cf, it->key(), v).ok());
    });
    Run r;
    CHECK(Verify(r.o, dir, std::nullopt) == kExitCorrupt);
    CHECK(r.out.str().find("snapshot 1: ok") != std::string::npos);
    CHECK(r.out.str().find("snapshot 2: FAILED") != std::string::npos);
    CHECK(r.out.str().find("batch 0: checksum mismatch") != std::string::npos);
  }
  SUBCASE("a truncated batch") {
    Tamper(dir, 2, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator({}, cf));
      it->SeekToLast();
      REQUIRE(db->Put({}, cf, it->key(), it->value().ToString().substr(0, 5)).ok());
    });
    Run r;
    CHECK(Verify(r.o, dir, second) == kExitCorrupt);
    CHECK(r.out.str().find("shorter than the 8-byte checksum") != std::string::npos);
  }
  SUBCASE("manifests swapped between ids") {
    Tamper(dir, 1, [&](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
      std::string one, two;
      const std::string k1("\0\0\0\0\0\0\0\x01", 8), k2("\0\0\0\0\0\0\0\x02", 8);
      REQUIRE(db->Get({}, cf, k1, &one).ok());
      REQUIRE(db->Get({}, cf, k2, &two).ok());
      REQUIRE(db->Put({}, cf, k1, two).ok());
      REQUIRE(db->Put({}, cf, k2, one).ok());
    });
    Run r;
    CHECK(Verify(r.o, dir, std::nullopt) == kExitCorrupt);
    CHECK(r.err.str().find("stored under id 1 describes snapshot 2") != std::string::npos);
  }
}

TEST_CASE("cachectl refuses what is not a snapshot directory with its own exit codes") {
  testing::TempDir tmp;
  Run missing;
  CHECK(List(missing.o, tmp.File("nope")) == kExitNotFound);
  std::filesystem::create_directory(tmp.File("other"));
  std::ofstream(tmp.File("other/file.txt")) << "x";
  Run other;
  CHECK(Info(other.o, tmp.File("other"), std::nullopt) == kExitInvalid);
  CHECK(other.err.str().find("not a larder snapshot directory") != std::string::npos);
  const std::string dir = tmp.File("snap");
  SaveKv(dir);
  Tamper(dir, 0, [](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
    REQUIRE(db->Put({}, cf, "larder.snapshot.format", std::string("\0\0\0\x02", 4)).ok());
  });
  Run newer;
  CHECK(Verify(newer.o, dir, std::nullopt) == kExitInvalid);
  CHECK(newer.err.str().find("format version 2") != std::string::npos);
}

TEST_CASE("cachectl export and import round-trip; diff reports changes; prune keeps the newest") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  const uint64_t a = SaveKv(dir);
  const std::string file = tmp.File("kv.json");
  {
    Run r;
    REQUIRE(Export(r.o, dir, a, file, /*meta=*/true) == kExitOk);
    const Json j = Json::parse(Slurp(file));
    REQUIRE(j.size() == 81);
    CHECK(j[0]["data"].contains("key_base64"));  // sorted by key bytes: "bin..." first
    CHECK(j[1]["data"]["key"] == "sess:0");
  }
  uint64_t b = 0;
  {
    Run r(true);
    const int exit = Import(r.o, dir, file, /*meta=*/true, std::nullopt, "");
    INFO(r.err.str());
    REQUIRE(exit == kExitOk);
    b = Json::parse(r.out.str())["id"];
  }
  {
    Run r;
    CHECK(Diff(r.o, dir, a, b, 20) == kExitOk);
    CHECK(r.out.str().find("0 added, 0 removed, 0 changed, 0 with a new expiry only") !=
          std::string::npos);
  }
  const uint64_t c = SaveKv(dir, "changed");
  {
    Run r(true);
    CHECK(Diff(r.o, dir, b, c, 20) == kExitDifferent);
    const Json j = Json::parse(r.out.str());
    CHECK(j["changed"] == 1);
    CHECK(j["changedKeys"][0] == "user:0");
  }
  {
    Run r;
    std::ofstream(tmp.File("bad.json")) << R"([{"key": "k", "value": "v"}, {"key": 3}])";
    CHECK(Import(r.o, dir, tmp.File("bad.json"), false, a, "") == kExitInvalid);
    CHECK(r.err.str().find("element 1") != std::string::npos);
    Run l(true);
    REQUIRE(List(l.o, dir) == kExitOk);
    CHECK(Json::parse(l.out.str()).size() == 3);  // the bad file created nothing
  }
  {
    Run r;
    REQUIRE(Prune(r.o, dir, 1) == kExitOk);
    CHECK(r.out.str().find("deleted 2 snapshot(s)") != std::string::npos);
    Run l(true);
    REQUIRE(List(l.o, dir) == kExitOk);
    const Json j = Json::parse(l.out.str());
    REQUIRE(j.size() == 1);
    CHECK(j[0]["id"] == c);
  }
}

TEST_CASE("cachectl exports record snapshots exactly as RecordCache::ToJson, and imports them") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  auto schema = *Schema::Create({{"id", FieldType::kInt64, false},
                                 {"email", FieldType::kString},
                                 {"org", FieldType::kInt64}});
  std::vector<Record> rows;
  for (int i = 0; i < 40; ++i) {
    rows.push_back(*RecordBuilder(schema)
                        .Set("id", int64_t{i * 37 % 40})
                        .Set("email", "e" + std::to_string(i) + "@x.io")
                        .Set("org", int64_t{i % 3})
                        .Build());
  }
  FunctionSourceOptions so;
  so.schema = schema;
  so.name = "people";
  so.find_all = [&](const RowSink& sink) {
    for (const Record& r : rows) {
      Status s = sink(Record(r));
      if (!s.ok()) return s;
    }
    return Status::OK();
  };
  auto clock = std::make_shared<ManualClock>(kWall0);
  auto cache = *RecordCache::Open(*FunctionSource::Create(so),
                                  {.key_fields = {{"email", true}, {"org", false}},
                                   .ttl = std::chrono::minutes(5),
                                   .clock = clock,
                                   .maintenance_interval = Duration::zero()});
  REQUIRE(cache->Refresh().ok());
  REQUIRE(cache->SaveSnapshot(dir).ok());
  const std::string file = tmp.File("people.json");
  Run r;
  REQUIRE(Export(r.o, dir, std::nullopt, file, true) == kExitOk);
  CHECK(Slurp(file) == cache->ToJson(true));
  Run dump(true);
  REQUIRE(Dump(dump.o, dir, std::nullopt, {.pattern = "1?", .limit = 0}) == kExitOk);
  CHECK(Json::parse(dump.out.str()).size() == 10);  // primary keys 10..19
  Run get;
  REQUIRE(Get(get.o, dir, 1, "17") == kExitOk);
  CHECK(get.out.str().find("\"id\":17") != std::string::npos);

  // Import takes the schema and indexes of the newest snapshot; the cache loads the result.
  Run imp(true);
  REQUIRE(Import(imp.o, dir, file, true, std::nullopt, "") == kExitOk);
  const Json info = Json::parse(imp.out.str());
  CHECK(info["kind"] == "record");
  CHECK(info["entries"] == 40);
  auto again = *RecordCache::Open(*FunctionSource::Create(so),
                                  {.key_fields = {{"email", true}, {"org", false}},
                                   .ttl = std::chrono::minutes(5),
                                   .clock = clock,
                                   .maintenance_interval = Duration::zero()});
  Result<LoadSnapshotResult> loaded = again->LoadSnapshot(dir);
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CHECK(loaded->snapshot.id == info["id"]);
  CHECK(loaded->loaded == 40);
  CHECK(again->ToJson(true) == cache->ToJson(true));
}

TEST_CASE("cachectl verify passes after saves killed with SIGKILL, and lists no partial one") {
  testing::TempDir tmp;
  const std::string dir = tmp.File("snap");
  for (int round = 0; round < 5; ++round) {
    testing::ChildProcess child("kv-save-loop", dir, "50000");
    REQUIRE(child.NextSave() != 0);
    REQUIRE(child.NextSave() != 0);  // one more, then kill it wherever its next save is
    kill(child.pid, SIGKILL);
    child.Wait();
    Run r(true);
    REQUIRE(Verify(r.o, dir, std::nullopt) == kExitOk);
    const Json report = Json::parse(r.out.str());
    CHECK(report.size() >= 1);
    for (const Json& snap : report) CHECK(snap["ok"] == true);
    Run info(true);
    REQUIRE(Info(info.o, dir, std::nullopt) == kExitOk);
    CHECK(Json::parse(info.out.str())["entries"] == 50000);
  }
}

}  // namespace
}  // namespace larder::tools
