// SlabAllocator: size-class allocation of small objects from arena slabs, addressed by NodeId.
//
// One allocator per shard, used under the shard's lock. Sizes are rounded up to a size class:
// multiples of 16 up to 256 bytes, then steps of at most 12.5% up to kMaxObjectSize. A slab holds
// objects of one class; a slab whose objects are all freed goes back to the arena, so memory can
// move between classes as value sizes shift. No per-object header: the class is found from the
// slab. Objects are 16-byte aligned.
//
// Thread safety: none; the owner serializes calls. Destroying the allocator returns its slabs.
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/arena.h"
#include "base/node_space.h"
#include "larder/status.h"

namespace larder {

class SlabAllocator {
 public:
  static constexpr size_t kMaxObjectSize = size_t{128} * 1024;

  explicit SlabAllocator(Arena* arena);
  ~SlabAllocator();
  SlabAllocator(const SlabAllocator&) = delete;
  SlabAllocator& operator=(const SlabAllocator&) = delete;

  // The size actually reserved for a request of `bytes`. REQUIRES: 0 < bytes <= kMaxObjectSize.
  static size_t ClassSize(size_t bytes) noexcept;
  static size_t NumClasses() noexcept;

  // An object of at least `bytes`, or ResourceExhausted when the arena is full.
  // REQUIRES: 0 < bytes <= kMaxObjectSize.
  Result<NodeId> Allocate(size_t bytes);
  // REQUIRES: `id` came from this allocator and is not freed yet.
  void Free(NodeId id);
  // Bytes of the object `id` (its class size).
  size_t ObjectSize(NodeId id) const noexcept;
  // Returns to the arena every slab still being filled whose objects are all freed (Free keeps
  // those, so that one object freed and allocated again does not cost a slab each time). For a
  // periodic pass: after values move to other size classes, their old slabs would otherwise
  // stay resident. Returns how many slabs went.
  size_t ReleaseIdle();

  size_t slabs_held() const noexcept { return all_slabs_.size(); }
  NodeSpace space() const noexcept { return space_; }

 private:
  void ListPush(uint32_t cls, uint32_t slab);
  void ListRemove(uint32_t cls, uint32_t slab);

  Arena* const arena_;
  const NodeSpace space_;
  std::vector<uint32_t> current_;       // per class: slab being filled, 0 = none
  std::vector<uint32_t> partial_head_;  // per class: slabs with free objects (not current)
  std::vector<uint32_t> all_slabs_;     // every slab held, for the destructor
};

}  // namespace larder
