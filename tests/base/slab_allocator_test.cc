// SlabAllocator and Arena: size classes, reuse, slab return, exhaustion.
#include <doctest/doctest.h>

#include <cstring>
#include <set>
#include <vector>

#include "base/arena.h"
#include "base/slab_allocator.h"

namespace larder {

TEST_CASE("SlabAllocator: classes cover every size with at most 12.5% waste above 256") {
  size_t prev = 0;
  for (size_t bytes = 1; bytes <= SlabAllocator::kMaxObjectSize; bytes += 7) {
    const size_t c = SlabAllocator::ClassSize(bytes);
    CHECK(c >= bytes);
    CHECK(c % 16 == 0);
    CHECK(c >= prev);
    if (bytes > 256) CHECK(c - bytes <= bytes / 8 + 16);
    if (bytes <= 256) CHECK(c - bytes < 16);
    prev = c;
  }
  CHECK(SlabAllocator::ClassSize(64) == 64);
  CHECK(SlabAllocator::ClassSize(SlabAllocator::kMaxObjectSize) == SlabAllocator::kMaxObjectSize);
}

TEST_CASE("SlabAllocator: allocations are disjoint, aligned and writable") {
  auto arena = Arena::Create(size_t{64} << 20);
  REQUIRE(arena.ok());
  SlabAllocator alloc(arena->get());
  const NodeSpace space = alloc.space();
  std::vector<std::pair<NodeId, size_t>> objs;
  for (size_t i = 0; i < 2000; ++i) {
    const size_t bytes = 16 + (i * 37) % 3000;
    Result<NodeId> id = alloc.Allocate(bytes);
    REQUIRE(id.ok());
    CHECK(*id != kNoNode);
    CHECK(reinterpret_cast<uintptr_t>(space.At(*id)) % 16 == 0);
    CHECK(alloc.ObjectSize(*id) == SlabAllocator::ClassSize(bytes));
    std::memset(space.At(*id), static_cast<int>(i & 0xff), bytes);
    objs.emplace_back(*id, bytes);
  }
  // Every object still holds its own fill byte: nothing overlapped.
  for (size_t i = 0; i < objs.size(); ++i) {
    const char* p = space.At(objs[i].first);
    CHECK(static_cast<unsigned char>(p[0]) == (i & 0xff));
    CHECK(static_cast<unsigned char>(p[objs[i].second - 1]) == (i & 0xff));
  }
}

TEST_CASE("SlabAllocator: freed objects are reused and empty slabs go back to the arena") {
  auto arena = Arena::Create(size_t{64} << 20);
  REQUIRE(arena.ok());
  SlabAllocator alloc(arena->get());
  std::vector<NodeId> ids;
  for (int i = 0; i < 40000; ++i) ids.push_back(*alloc.Allocate(64));  // > 2 slabs of 64 B
  const size_t slabs = alloc.slabs_held();
  CHECK(slabs >= 3);
  CHECK((*arena)->committed_bytes() == slabs * Arena::kSlabSize);

  const NodeId reused = ids.back();
  alloc.Free(reused);
  ids.pop_back();
  CHECK(*alloc.Allocate(64) == reused);
  ids.push_back(reused);

  for (NodeId id : ids) alloc.Free(id);
  CHECK(alloc.slabs_held() <= 1);  // only the slab being filled stays
  CHECK((*arena)->committed_bytes() <= Arena::kSlabSize);

  // A released slab serves another size class.
  Result<NodeId> big = alloc.Allocate(4000);
  REQUIRE(big.ok());
}

TEST_CASE("SlabAllocator: ReleaseIdle returns slabs being filled whose objects are all freed") {
  auto arena = Arena::Create(size_t{64} << 20);
  REQUIRE(arena.ok());
  SlabAllocator alloc(arena->get());
  // Objects of two classes; then every 64-byte object is freed (values moved to a bigger class).
  std::vector<NodeId> small, big;
  for (int i = 0; i < 1000; ++i) small.push_back(*alloc.Allocate(64));
  for (int i = 0; i < 1000; ++i) big.push_back(*alloc.Allocate(160));
  CHECK(alloc.slabs_held() == 2);
  for (NodeId id : small) alloc.Free(id);
  CHECK(alloc.slabs_held() == 2);  // Free keeps the slab it is filling
  const size_t committed = (*arena)->committed_bytes();
  CHECK(alloc.ReleaseIdle() == 1);
  CHECK(alloc.slabs_held() == 1);
  CHECK((*arena)->committed_bytes() < committed);
  CHECK(alloc.ReleaseIdle() == 0);  // the 160-byte slab still holds live objects
  // The class still allocates: a new slab.
  Result<NodeId> again = alloc.Allocate(64);
  REQUIRE(again.ok());
  CHECK(alloc.slabs_held() == 2);
  alloc.Free(*again);
  for (NodeId id : big) alloc.Free(id);
}

TEST_CASE("SlabAllocator: ResourceExhausted when the arena reservation is used up") {
  auto arena = Arena::Create(4 * Arena::kSlabSize);  // slab 0 and the last are never used
  REQUIRE(arena.ok());
  SlabAllocator alloc(arena->get());
  Status last;
  size_t n = 0;
  for (; n < 100; ++n) {
    Result<NodeId> id = alloc.Allocate(SlabAllocator::kMaxObjectSize);
    if (!id.ok()) {
      last = id.status();
      break;
    }
  }
  CHECK(last.IsResourceExhausted());
  CHECK(last.message().find("arena full") != std::string_view::npos);
  CHECK(n == 2 * (Arena::kSlabSize / SlabAllocator::kMaxObjectSize));
}

TEST_CASE("Arena: ids never name unit 0") {
  auto arena = Arena::Create(size_t{8} << 20);
  REQUIRE(arena.ok());
  Result<uint32_t> slab = (*arena)->AcquireSlab();
  REQUIRE(slab.ok());
  CHECK(*slab >= 1);
  CHECK(Arena::FirstNode(*slab) != kNoNode);
}

}  // namespace larder
