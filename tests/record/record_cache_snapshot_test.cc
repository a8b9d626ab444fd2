// RecordCache::SaveSnapshot / LoadSnapshot: records, deadlines and indexes survive; a snapshot of
// another shape is refused before anything is written.
#include <string>

#include "larder/cache.h"
#include "table_fixture.h"
#include "temp_dir.h"

namespace larder {
namespace {

using testing::kSec;

std::string Email(int i) { return "user" + std::to_string(i) + "@x.io"; }

TEST_CASE("snapshot: records, remaining ttls and both kinds of index survive a restart") {
  testing::TempDir tmp;
  const RecordCacheOptions o{.ttl = 60 * kSec, .lazy_reload = false,
                             .stale_while_revalidate = false};
  testing::CacheOverTable a(o);
  constexpr int kN = 5000;
  for (int i = 0; i < kN; ++i) {
    if (i == kN / 2) a.clock->Advance(30 * kSec);  // the second half is 30 s younger
    REQUIRE(a->Upsert(a.table.Row(i, Email(i), i % 10)).ok());
  }
  a.clock->Advance(10 * kSec);  // saved at 40 s: 20 s and 50 s left
  Result<SnapshotInfo> saved = a->SaveSnapshot(tmp.File("snap"));
  REQUIRE_MESSAGE(saved.ok(), saved.status().ToString());
  CHECK(saved->kind == SnapshotKind::kRecord);
  CHECK(saved->name == "users");
  CHECK(saved->entry_count == kN);
  CHECK(saved->primary_key == "id");

  testing::CacheOverTable b(o);
  b.clock->Advance(45 * kSec);  // 5 s after the save, same wall-clock origin
  Result<LoadSnapshotResult> loaded = b->LoadSnapshot(tmp.File("snap"));
  REQUIRE_MESSAGE(loaded.ok(), loaded.status().ToString());
  CHECK(loaded->loaded == kN);
  CHECK(loaded->expired == 0);
  CHECK(b->Size() == kN);
  CHECK(b.table.find_by_id_calls == 0);
  for (int i = 0; i < kN; i += 7) {
    INFO("id " << i);
    CHECK(b.ById(i) == Email(i));
    CHECK(b.ByEmail(Email(i)) == Email(i));
  }
  RecordLookup org = b->GetByKey("org_id", FieldValue::Int64(3));
  REQUIRE(org.found());
  CHECK(org.count() == kN / 10);

  b.clock->Advance(15 * kSec);  // first half: 20 s after the save, gone; second half has 30 s
  CHECK(b.ById(0) == "<not loaded>");
  CHECK(b.ById(kN - 1) == Email(kN - 1));
  b.clock->Advance(30 * kSec);
  CHECK(b.ById(kN - 1) == "<not loaded>");
}

TEST_CASE("snapshot: records expired since the save are skipped, existing ones are kept") {
  testing::TempDir tmp;
  const RecordCacheOptions o{.ttl = 10 * kSec, .lazy_reload = false,
                             .stale_while_revalidate = false};
  testing::CacheOverTable a(o);
  REQUIRE(a->Upsert(a.table.Row(1, "old@x.io", 1)).ok());
  a.clock->Advance(8 * kSec);
  REQUIRE(a->Upsert(a.table.Row(2, "two@x.io", 1)).ok());
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());

  testing::CacheOverTable b(o);
  b.clock->Advance(11 * kSec);  // record 1 expired at 10 s
  REQUIRE(b->Upsert(b.table.Row(2, "new@x.io", 1)).ok());
  Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("snap"));
  REQUIRE(r.ok());
  CHECK(r->expired == 1);
  CHECK(r->kept == 1);
  CHECK(r->loaded == 0);
  CHECK(b.ById(2) == "new@x.io");
  CHECK(b.ByEmail("two@x.io") == "<not loaded>");
}

TEST_CASE("snapshot: a different shape, name or kind is refused before anything is written") {
  testing::TempDir tmp;
  testing::CacheOverTable a;
  REQUIRE(a->Upsert(a.table.Row(1, "a@x.io", 1)).ok());
  REQUIRE(a->SaveSnapshot(tmp.File("snap")).ok());

  SUBCASE("other indexes") {
    testing::CacheOverTable b({.key_fields = {{"email", true}}});
    Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("snap"));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find("indexes email (unique) here, email (unique), org_id (multi)") !=
          std::string::npos);
    CHECK(b->Size() == 0);
  }
  SUBCASE("another name") {
    testing::CacheOverTable b;
    Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("snap"), {.name = "accounts"});
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find("'users', not 'accounts'") != std::string::npos);
  }
  SUBCASE("a key-value snapshot") {
    auto kv = *Cache::Open({});
    REQUIRE(kv->Set("k", "v").ok());
    REQUIRE(kv->SaveSnapshot(tmp.File("kv"), {.name = "users"}).ok());
    testing::CacheOverTable b;
    Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("kv"));
    CHECK(r.status().code() == Status::Code::kInvalidArgument);
    CHECK(r.status().message().find("key-value") != std::string::npos);
    // And the other way round.
    auto kv2 = *Cache::Open({});
    Result<LoadSnapshotResult> back = kv2->LoadSnapshot(tmp.File("snap"), {.name = "users"});
    CHECK(back.status().code() == Status::Code::kInvalidArgument);
    CHECK(back.status().message().find("record cache") != std::string::npos);
  }
}

}  // namespace
}  // namespace larder
