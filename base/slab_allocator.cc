// SlabAllocator: size classes, per-slab free lists, slab return.
#include "base/slab_allocator.h"

#include <algorithm>
#include <cassert>
#include <cstring>

#include "base/sanitizers.h"

namespace larder {
namespace {

constexpr size_t kGrain = 16;

struct ClassTable {
  std::vector<uint32_t> sizes;
  std::vector<uint8_t> by_grain;  // (bytes + 15) / 16 -> class index

  ClassTable() {
    size_t s = kGrain;
    for (; s <= 256; s += kGrain) sizes.push_back(static_cast<uint32_t>(s));
    s = 256;
    while (s < SlabAllocator::kMaxObjectSize) {
      size_t step = ((s / 8) + kGrain - 1) / kGrain * kGrain;
      s = std::min(s + step, SlabAllocator::kMaxObjectSize);
      sizes.push_back(static_cast<uint32_t>(s));
    }
    by_grain.resize(SlabAllocator::kMaxObjectSize / kGrain + 1);
    size_t cls = 0;
    for (size_t g = 1; g < by_grain.size(); ++g) {
      while (sizes[cls] < g * kGrain) ++cls;
      by_grain[g] = static_cast<uint8_t>(cls);
    }
    by_grain[0] = 0;
  }
};

const ClassTable& Classes() {
  static const ClassTable table;
  return table;
}

uint32_t ClassOf(size_t bytes) { return Classes().by_grain[(bytes + kGrain - 1) / kGrain]; }

}  // namespace

size_t SlabAllocator::ClassSize(size_t bytes) noexcept { return Classes().sizes[ClassOf(bytes)]; }
size_t SlabAllocator::NumClasses() noexcept { return Classes().sizes.size(); }

SlabAllocator::SlabAllocator(Arena* arena)
    : arena_(arena),
      space_(arena->space()),
      current_(NumClasses(), 0),
      partial_head_(NumClasses(), 0) {}

SlabAllocator::~SlabAllocator() {
  for (uint32_t slab : all_slabs_) {
    arena_->meta(slab).object_size = 0;
    arena_->ReleaseSlab(slab);
  }
}

void SlabAllocator::ListPush(uint32_t cls, uint32_t slab) {
  SlabMeta& m = arena_->meta(slab);
  m.prev = 0;
  m.next = partial_head_[cls];
  if (m.next != 0) arena_->meta(m.next).prev = slab;
  partial_head_[cls] = slab;
  m.listed = 1;
}

void SlabAllocator::ListRemove(uint32_t cls, uint32_t slab) {
  SlabMeta& m = arena_->meta(slab);
  if (m.prev != 0) {
    arena_->meta(m.prev).next = m.next;
  } else {
    partial_head_[cls] = m.next;
  }
  if (m.next != 0) arena_->meta(m.next).prev = m.prev;
  m.prev = m.next = 0;
  m.listed = 0;
}

Result<NodeId> SlabAllocator::Allocate(size_t bytes) {
  assert(bytes > 0 && bytes <= kMaxObjectSize);
  const uint32_t cls = ClassOf(bytes);
  const uint32_t size = Classes().sizes[cls];
  for (;;) {
    uint32_t slab = current_[cls];
    if (slab != 0) {
      SlabMeta& m = arena_->meta(slab);
      NodeId id = kNoNode;
      if (m.free_head != kNoNode) {
        id = m.free_head;
        char* p = space_.At(id);
        UnpoisonMemory(p, size);
        std::memcpy(&m.free_head, p, sizeof(uint32_t));
        // Freed objects are cold by the time they are reused (a grace period passed); fetch the
        // next one now so the next allocation of this class does not stall on it.
        if (m.free_head != kNoNode) __builtin_prefetch(space_.At(m.free_head), 1, 3);
      } else if (m.bump + size <= Arena::kSlabSize) {
        id = Arena::FirstNode(slab) + (m.bump >> NodeSpace::kUnitShift);
        m.bump += size;
        UnpoisonMemory(space_.At(id), size);
      }
      if (id != kNoNode) {
        ++m.live;
        return id;
      }
      current_[cls] = 0;  // full: it rejoins the partial list when an object is freed
    }
    if (partial_head_[cls] != 0) {
      slab = partial_head_[cls];
      ListRemove(cls, slab);
      current_[cls] = slab;
      continue;
    }
    Result<uint32_t> fresh = arena_->AcquireSlab();
    if (!fresh.ok()) return fresh.status();
    slab = *fresh;
    SlabMeta& m = arena_->meta(slab);
    m.object_size = size;
    m.size_class = static_cast<uint16_t>(cls);
    current_[cls] = slab;
    all_slabs_.push_back(slab);
  }
}

void SlabAllocator::Free(NodeId id) {
  const uint32_t slab = Arena::SlabOf(id);
  SlabMeta& m = arena_->meta(slab);
  const uint32_t cls = m.size_class;
  char* p = space_.At(id);
  std::memcpy(p, &m.free_head, sizeof(uint32_t));
  PoisonMemory(p + sizeof(uint32_t), m.object_size - sizeof(uint32_t));
  m.free_head = id;
  --m.live;
  if (current_[cls] == slab) return;
  if (m.live == 0) {
    if (m.listed) ListRemove(cls, slab);
    m.object_size = 0;
    m.free_head = kNoNode;
    arena_->ReleaseSlab(slab);
    // Rare (a whole slab emptied), so a linear erase is fine.
    all_slabs_.erase(std::find(all_slabs_.begin(), all_slabs_.end(), slab));
    return;
  }
  if (!m.listed) ListPush(cls, slab);
}

size_t SlabAllocator::ReleaseIdle() {
  size_t released = 0;
  for (uint32_t& slab : current_) {
    if (slab == 0 || arena_->meta(slab).live != 0) continue;
    SlabMeta& m = arena_->meta(slab);
    m.object_size = 0;
    m.free_head = kNoNode;
    arena_->ReleaseSlab(slab);
    all_slabs_.erase(std::find(all_slabs_.begin(), all_slabs_.end(), slab));
    slab = 0;
    ++released;
  }
  return released;
}

size_t SlabAllocator::ObjectSize(NodeId id) const noexcept {
  return arena_->meta(Arena::SlabOf(id)).object_size;
}

}  // namespace larder
