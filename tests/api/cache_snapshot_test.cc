// Cache::SaveSnapshot / LoadSnapshot against real RocksDB directories, on manual clocks.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <rocksdb/db.h>

#include "temp_dir.h"
#include "cache_fixture.h"

namespace larder::testing {
namespace {

constexpr int64_t kWall0 = 1'700'000'000'000;

// A cache whose clock reads wall time `wall_ms` at monotonic 0.
ManualCache CacheAt(int64_t wall_ms, CacheOptions options = {}) {
  ManualCache c(options);
  c.clock = std::make_shared<ManualClock>(wall_ms);
  options.clock = c.clock;
  options.maintenance_interval = Duration::zero();
  c.cache = std::move(*Cache::Open(options));
  return c;
}

std::string Key(int i) { return "key:" + std::to_string(i); }
// Values of assorted shapes: empty, short, binary, and some past the slab object size.
std::string ValueFor(int i) {
  switch (i % 5) {
    case 0: return "";
    case 1: return "v" + std::to_string(i);
    case 2: return std::string("\0\x01\xff", 3) + std::to_string(i);
    case 3: return std::string(100 + i % 50, static_cast<char>('a' + i % 26));
    default: return i % 1000 == 4 ? std::string(300'000, 'L') : "x" + std::to_string(i * 7);
  }
}

// Rewrites one stored batch of `dir` through RocksDB, bypassing larder.
void DamageBatch(const std::string& dir, uint32_t sequence, const std::function<void(std::string*)>& fn) {
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"manifests", {}}, {"batches", {}}};
  REQUIRE(rocksdb::DB::Open({}, dir, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::Iterator> it(raw->NewIterator({}, handles[2]));
  bool found = false;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    const std::string key = it->key().ToString();
    if (static_cast<uint8_t>(key[11]) != sequence) continue;
    std::string value = it->value().ToString();
    fn(&value);
    REQUIRE(raw->Put({}, handles[2], key, value).ok());
    found = true;
  }
  CHECK(found);
  it.reset();
  for (auto* h : handles) (void)raw->DestroyColumnFamilyHandle(h);
  delete raw;
}

TEST_CASE("save then load reproduces every key, value and remaining TTL of 100k entries") {
  TempDir tmp;
  ManualCache a = CacheAt(kWall0);
  constexpr int kN = 100'000;
  for (int i = 0; i < kN; ++i) {
    WriteOptions w;
    if (i % 3 == 1) w.ttl = (1 + i % 20) * kSec;  // 1..20 s
    if (i % 3 == 2) {
      w.ttl = (30 + i % 7) * kSec;
      w.sliding = i % 2 == 0;
    }
    REQUIRE(a->Set(Key(i), ValueFor(i), w).ok());
  }
  a.clock->Advance(2 * kSec);  // entries with 1..2 s left are gone before the save
  Result<SnapshotInfo> saved = a->SaveSnapshot(tmp.File("snap"));
  REQUIRE_MESSAGE(saved.ok(), saved.status().ToString());
  CHECK(saved->kind == SnapshotKind::kKeyValue);
  CHECK(saved->created_at_ms == kWall0 + 2000);
  CHECK(saved->batch_count > 1);

  // The new process starts 5 s after the save.
  ManualCache b = CacheAt(kWall0 + 7000);
  Result<LoadSnapshotResult> loaded = b->LoadSnapshot(tmp.File("snap"));
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CHECK(loaded->snapshot.id == saved->id);
  CHECK(loaded->loaded + loaded->expired == saved->entry_count);
  CHECK(loaded->kept == 0);

  uint64_t live = 0, expired_since = 0;
  for (int i = 0; i < kN; ++i) {
    INFO("key " << i);
    Duration ttl_left = Duration::max();
    if (i % 3 == 1) ttl_left = (1 + i % 20) * kSec - 7 * kSec;
    if (i % 3 == 2) ttl_left = (30 + i % 7) * kSec - 7 * kSec;
    const KeyTtl t = b->Ttl(Key(i));
    if (ttl_left <= Duration::zero()) {
      CHECK_FALSE(t.exists);
      if ((1 + i % 20) > 2) ++expired_since;
      continue;
    }
    ++live;
    REQUIRE(t.exists);
    if (ttl_left == Duration::max()) {
      CHECK_FALSE(t.remaining.has_value());
    } else {
      REQUIRE(t.remaining.has_value());
      CHECK(*t.remaining == ttl_left);
    }
    CHECK(b.Value(Key(i)) == ValueFor(i));
  }
  CHECK(loaded->loaded == live);
  CHECK(loaded->expired == expired_since);
  CHECK(b->Size() == live);
}

TEST_CASE("a restored sliding entry still slides") {
  TempDir tmp;
  ManualCache a = CacheAt(kWall0);
  REQUIRE(a->Set("s", "v", {.ttl = 10 * kSec, .sliding = true}).ok());
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());
  ManualCache b = CacheAt(kWall0 + 4000);
  REQUIRE(b->LoadSnapshot(tmp.File("snap")).ok());
  CHECK(*b->Ttl("s").remaining == 6 * kSec);
  b.clock->Advance(5 * kSec);
  CHECK(b.Value("s") == "v");  // the read moves the deadline to now + 10 s
  b.clock->Advance(9 * kSec);
  CHECK(b.Value("s") == "v");
}

TEST_CASE("a stale value keeps its stale window across a restore") {
  TempDir tmp;
  ManualCache a = CacheAt(kWall0);
  int fetches = 0;
  auto ok = [&]() -> Result<std::string> { ++fetches; return std::string("v1"); };
  REQUIRE(a->GetWithStale("k", ok, 10 * kSec, 60 * kSec).ok());
  a.clock->Advance(20 * kSec);  // stale now, servable until 60 s
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());

  ManualCache b = CacheAt(kWall0 + 30'000);
  Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("snap"));
  REQUIRE(r.ok());
  CHECK(r->loaded == 1);
  auto failing = []() -> Result<std::string> { return Status::Unavailable("source down"); };
  Result<std::string> v = b->GetWithStale("k", failing, 10 * kSec, 60 * kSec);
  REQUIRE(v.ok());
  CHECK(*v == "v1");
  CHECK(b->GetStats().stale_served == 1);

  // Past the stale window the entry is not restored at all.
  ManualCache c = CacheAt(kWall0 + 61'000);
  r = c->LoadSnapshot(tmp.File("snap"));
  REQUIRE(r.ok());
  CHECK(r->loaded == 0);
  CHECK(r->expired == 1);
}

TEST_CASE("keys the cache already holds keep their newer values") {
  TempDir tmp;
  ManualCache a = CacheAt(kWall0);
  REQUIRE(a->Set("k1", "old").ok());
  REQUIRE(a->Set("k2", "snap").ok());
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());
  ManualCache b = CacheAt(kWall0);
  REQUIRE(b->Set("k1", "new").ok());
  Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("snap"));
  REQUIRE(r.ok());
  CHECK(r->loaded == 1);
  CHECK(r->kept == 1);
  CHECK(b.Value("k1") == "new");
  CHECK(b.Value("k2") == "snap");
}

TEST_CASE("snapshots are chosen by id, pruned by keep_last and matched by name") {
  TempDir tmp;
  const std::string dir = tmp.File("snap");
  ManualCache a = CacheAt(kWall0);
  std::vector<uint64_t> ids;
  for (int i = 0; i < 4; ++i) {
    REQUIRE(a->Set("gen", std::to_string(i)).ok());
    Result<SnapshotInfo> s = a->SaveSnapshot(dir, {.name = "sessions", .keep_last = 2});
    REQUIRE(s.ok());
    ids.push_back(s->id);
  }
  ManualCache b = CacheAt(kWall0);
  Result<LoadSnapshotResult> r = b->LoadSnapshot(dir, {.id = ids[0], .name = "sessions"});
  CHECK(r.status().code() == Status::Code::kNotFound);  // pruned
  r = b->LoadSnapshot(dir, {.id = ids[2], .name = "sessions"});
  REQUIRE(r.ok());
  CHECK(b.Value("gen") == "2");

  ManualCache c = CacheAt(kWall0);
  r = c->LoadSnapshot(dir, {.name = "users"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  CHECK(r.status().message().find("'sessions'") != std::string::npos);
  CHECK(c->Size() == 0);
  r = c->LoadSnapshot(dir, {.name = "sessions"});
  REQUIRE(r.ok());
  CHECK(r->snapshot.id == ids[3]);
  CHECK(c.Value("gen") == "3");
}

TEST_CASE("a damaged batch fails the load with its name and nothing is loaded") {
  TempDir tmp;
  const std::string dir = tmp.File("snap");
  ManualCache a = CacheAt(kWall0);
  for (int i = 0; i < 30'000; ++i) REQUIRE(a->Set(Key(i), "v").ok());
  Result<SnapshotInfo> saved = a->SaveSnapshot(dir);
  REQUIRE(saved.ok());
  REQUIRE(saved->batch_count >= 3);
  const uint32_t last = saved->batch_count - 1;
  SUBCASE("a flipped byte") {
    DamageBatch(dir, last, [](std::string* v) { (*v)[v->size() / 2] ^= 0x01; });
  }
  SUBCASE("a truncated batch") {
    DamageBatch(dir, last, [](std::string* v) { v->resize(v->size() / 3); });
  }
  ManualCache b = CacheAt(kWall0);
  Result<LoadSnapshotResult> r = b->LoadSnapshot(dir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kCorruption);
  CHECK(r.status().message().find("batch " + std::to_string(last)) != std::string::npos);
  CHECK(b->Size() == 0);
}

TEST_CASE("loading refuses what is not a key-value snapshot that fits") {
  TempDir tmp;
  ManualCache b = CacheAt(kWall0);
  CHECK(b->LoadSnapshot(tmp.File("missing")).status().code() == Status::Code::kNotFound);
  std::filesystem::create_directory(tmp.File("empty"));
  CHECK(b->LoadSnapshot(tmp.File("empty")).status().code() == Status::Code::kInvalidArgument);

  ManualCache a = CacheAt(kWall0);
  REQUIRE(a->Set("small", "v").ok());
  REQUIRE(a->Set("big", std::string(10'000, 'b')).ok());
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());
  CacheOptions tight;
  tight.max_bytes = 4096;
  tight.num_shards = 1;
  ManualCache c = CacheAt(kWall0, tight);
  Result<LoadSnapshotResult> r = c->LoadSnapshot(tmp.File("snap"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kInvalidArgument);
  INFO(r.status().ToString());
  CHECK(r.status().message().find("big") != std::string::npos);
  CHECK(r.status().message().find("batch 0, entry") != std::string::npos);
  CHECK(c->Size() == 0);
}

TEST_CASE("a save runs while writers keep writing, and holds what was there before it") {
  TempDir tmp;
  ManualCache a = CacheAt(kWall0);
  for (int i = 0; i < 20'000; ++i) REQUIRE(a->Set(Key(i), ValueFor(i)).ok());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 20'000; !stop.load(); ++i) {
      (void)a->Set(Key(i % 40'000), ValueFor(i % 40'000));
      if (i % 7 == 0) (void)a->Delete(Key(20'000 + i % 20'000));
    }
  });
  Result<SnapshotInfo> saved = a->SaveSnapshot(tmp.File("snap"));
  stop = true;
  writer.join();
  REQUIRE(saved.ok());
  ManualCache b = CacheAt(kWall0);
  REQUIRE(b->LoadSnapshot(tmp.File("snap")).ok());
  for (int i = 0; i < 20'000; ++i) CHECK(b.Value(Key(i)) == ValueFor(i));
  for (int i = 20'000; i < 40'000; ++i) {
    const std::string v = b.Value(Key(i));
    if (v != "<miss>") CHECK(v == ValueFor(i));
  }
}

}  // namespace
}  // namespace larder::testing
