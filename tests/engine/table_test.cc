// Table: probing, tombstones, multiply-shift homes.
#include <doctest/doctest.h>

#include <map>

#include "engine/table.h"

namespace larder {

TEST_CASE("Table: finds what was stored, skips tombstones, stops at empty") {
  Table t(37);  // any capacity works
  // Three ids with the same home and tag: a probe chain.
  const uint64_t hash = 0xABCD'0000'1234'5678ull;
  const uint32_t home = t.Home(hash);
  CHECK(home < 37);
  for (NodeId id : {NodeId{16}, NodeId{32}, NodeId{48}}) {
    const auto p = t.FindForWrite(hash, [&](NodeId other) { return other == id; });
    CHECK(p.existing == 0);
    t.slot(p.index).store(Table::Encode(hash, id));
  }
  CHECK(Table::IdOf(t.Find(hash, [](NodeId id) { return id == 48; })) == 48);
  // Remove the middle one: the chain still reaches the last.
  const auto mid = t.FindForWrite(hash, [](NodeId id) { return id == 32; });
  REQUIRE(mid.existing != 0);
  t.slot(mid.index).store(Table::kTombstone);
  CHECK(t.Find(hash, [](NodeId id) { return id == 32; }) == 0);
  CHECK(Table::IdOf(t.Find(hash, [](NodeId id) { return id == 48; })) == 48);
  // An insert reuses the first tombstone on its path.
  const auto ins = t.FindForWrite(hash, [](NodeId id) { return id == 64; });
  CHECK(ins.reuses_tombstone);
  CHECK(ins.index == mid.index);
}

TEST_CASE("Table: the tag filters keys that share a home") {
  Table t(16);
  // The home comes from the top bits of the hash's low half, the tag is the whole low half:
  // these share a home but not a tag.
  const uint64_t h1 = 0x1111'1111'0000'0005ull;
  const uint64_t h2 = 0x1111'1111'0000'0006ull;
  REQUIRE(t.Home(h1) == t.Home(h2));
  const auto p = t.FindForWrite(h1, [](NodeId) { return true; });
  t.slot(p.index).store(Table::Encode(h1, 16));
  int compared = 0;
  CHECK(t.Find(h2, [&](NodeId) {
    ++compared;
    return true;
  }) == 0);
  CHECK(compared == 0);
}

TEST_CASE("Table: a slot alone tells its key's home, in a table of any capacity") {
  for (uint32_t capacity : {16u, 1000u, 1u << 20}) {
    Table t(capacity);
    for (uint64_t i = 1; i < 1000; ++i) {
      const uint64_t hash = i * 0x9E3779B97F4A7C15ull;
      CHECK(t.HomeOfSlot(Table::Encode(hash, 7)) == t.Home(hash));
    }
  }
}

TEST_CASE("Table: homes spread over the whole capacity") {
  Table t(1000);
  std::map<uint32_t, int> hits;
  for (uint64_t i = 0; i < 100000; ++i) hits[t.Home(i * 0x9E3779B97F4A7C15ull)]++;
  CHECK(hits.size() > 990);
  CHECK(Table::MaxUsed(1600) == 1300);
}

}  // namespace larder
