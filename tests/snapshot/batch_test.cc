// Batches and manifests: encode/decode round trips and rejection of damaged bytes.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "snapshot/batch.h"
#include "snapshot/envelope.h"
#include "snapshot/manifest.h"

namespace larder::snapshot {
namespace {

std::vector<std::string> Tags(const BatchReader& r, size_t i) {
  std::vector<std::string> out;
  r.ForEachTag(i, [&](std::string_view t) { out.emplace_back(t); });
  return out;
}

TEST_CASE("a batch keeps every field of every entry, optional columns included") {
  BatchWriter w;
  w.Add({.key = "a", .value = "1"});
  const std::vector<std::string_view> tags = {"users", "org:7"};
  w.Add({.key = "bb", .value = "", .expires_at_ms = 1'700'000'123'456, .stale_until_ms = 5,
         .sliding_ttl_ns = 42, .version = 9},
        tags);
  w.Add({.key = "", .value = std::string(300, 'x')}, std::vector<std::string_view>{"users"});
  CHECK(w.size() == 3);
  const std::string stored = w.Finish(17, 4);
  CHECK(w.empty());

  Result<BatchReader> r = BatchReader::Open(stored);
  REQUIRE(r.ok());
  CHECK(r->snapshot_id() == 17);
  CHECK(r->sequence() == 4);
  REQUIRE(r->size() == 3);
  CHECK(r->entry(0).key == "a");
  CHECK(r->entry(0).value == "1");
  CHECK(r->entry(0).expires_at_ms == 0);
  CHECK(r->entry(0).version == 0);
  CHECK(Tags(*r, 0).empty());
  const EntryData e1 = r->entry(1);
  CHECK(e1.key == "bb");
  CHECK(e1.value.empty());
  CHECK(e1.expires_at_ms == 1'700'000'123'456);
  CHECK(e1.stale_until_ms == 5);
  CHECK(e1.sliding_ttl_ns == 42);
  CHECK(e1.version == 9);
  CHECK(Tags(*r, 1) == std::vector<std::string>{"users", "org:7"});
  CHECK(r->entry(2).key.empty());
  CHECK(r->entry(2).value == std::string(300, 'x'));
  CHECK(Tags(*r, 2) == std::vector<std::string>{"users"});
}

TEST_CASE("an empty batch round-trips") {
  BatchWriter w;
  const std::string stored = w.Finish(1, 0);
  Result<BatchReader> r = BatchReader::Open(stored);
  REQUIRE(r.ok());
  CHECK(r->size() == 0);
}

TEST_CASE("every flipped byte of a batch is caught by the checksum") {
  BatchWriter w;
  for (int i = 0; i < 20; ++i) {
    w.Add({.key = "key" + std::to_string(i), .value = "value", .expires_at_ms = 1000 + i});
  }
  const std::string stored = w.Finish(3, 0);
  for (size_t i = 0; i < stored.size(); ++i) {
    std::string bad = stored;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    Result<BatchReader> r = BatchReader::Open(bad);
    INFO("byte " << i);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Status::Code::kCorruption);
  }
  for (size_t len : {size_t{0}, size_t{7}, size_t{8}, stored.size() - 1}) {
    Result<BatchReader> r = BatchReader::Open(stored.substr(0, len));
    INFO("length " << len);
    CHECK(r.status().code() == Status::Code::kCorruption);
  }
}

TEST_CASE("a well-checksummed batch with inconsistent columns is refused") {
  // Bytes that pass the checksum but are not a batch at all.
  const std::string junk = Seal(std::string(64, '\x7f'));
  Result<BatchReader> r = BatchReader::Open(junk);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Status::Code::kCorruption);
  CHECK(r.status().message().find("batch") != std::string::npos);
}

TEST_CASE("a manifest round-trips, record schema and indexes included") {
  SnapshotInfo info;
  info.id = 12;
  info.created_at_ms = 1'700'000'000'000;
  info.larder_version = "0.1.0";
  info.format_version = kSnapshotFormatVersion;
  info.kind = SnapshotKind::kRecord;
  info.name = "users";
  info.entry_count = 100;
  info.batch_count = 2;
  info.byte_count = 4096;
  info.fields = {{"id", FieldType::kInt64, false}, {"email", FieldType::kString, true}};
  info.primary_key = "id";
  info.indexes = {{"email", true}};
  Result<SnapshotInfo> back = DecodeManifest(EncodeManifest(info));
  REQUIRE(back.ok());
  CHECK(back->id == 12);
  CHECK(back->created_at_ms == info.created_at_ms);
  CHECK(back->larder_version == "0.1.0");
  CHECK(back->kind == SnapshotKind::kRecord);
  CHECK(back->name == "users");
  CHECK(back->entry_count == 100);
  CHECK(back->batch_count == 2);
  CHECK(back->byte_count == 4096);
  REQUIRE(back->fields.size() == 2);
  CHECK(back->fields[1].name == "email");
  CHECK(back->fields[1].type == FieldType::kString);
  CHECK(back->fields[0].nullable == false);
  CHECK(back->primary_key == "id");
  CHECK(back->indexes == info.indexes);
}

TEST_CASE("a manifest from a newer format is refused with the versions named") {
  SnapshotInfo info;
  info.format_version = kSnapshotFormatVersion + 1;
  Result<SnapshotInfo> back = DecodeManifest(EncodeManifest(info));
  REQUIRE_FALSE(back.ok());
  CHECK(back.status().code() == Status::Code::kFailedPrecondition);
  CHECK(back.status().message().find(std::to_string(kSnapshotFormatVersion + 1)) !=
        std::string::npos);
}

}  // namespace
}  // namespace larder::snapshot
