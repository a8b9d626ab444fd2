// Arena: a reserved range of address space, handed out in 1 MiB slabs named by NodeIds.
//
// One arena per cache. It reserves up to 64 GiB of address space (never memory) at creation and
// commits slabs on demand; released slabs return their pages to the OS. Slab 0 and the last unit
// of the range are never handed out, so kNoNode and 0xFFFFFFFF never name an allocation.
//
// Each slab has a SlabMeta record owned by whichever SlabAllocator holds the slab.
//
// Thread safety: AcquireSlab/ReleaseSlab/committed_bytes are safe from any thread; a SlabMeta is
// touched only by the allocator that owns its slab (under that allocator's lock).
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "base/node_space.h"
#include "larder/status.h"

namespace larder {

struct SlabMeta {
  uint32_t free_head = kNoNode;  // freed objects, linked through their first 4 bytes
  uint32_t live = 0;             // objects handed out and not freed
  uint32_t bump = 0;             // bytes handed out from the never-used tail
  uint32_t object_size = 0;      // bytes per object (its size class)
  uint32_t prev = 0;             // partial-slab list of the owning allocator (slab ids)
  uint32_t next = 0;
  uint16_t size_class = 0;
  uint8_t listed = 0;  // on the partial list
  uint8_t pad = 0;
};

class Arena {
 public:
  static constexpr int kSlabShift = 20;
  static constexpr size_t kSlabSize = size_t{1} << kSlabShift;
  static constexpr int kUnitsPerSlabShift = kSlabShift - NodeSpace::kUnitShift;
  static constexpr size_t kMaxReserve = size_t{1} << (32 + NodeSpace::kUnitShift);  // 64 GiB
  static constexpr size_t kMinReserve = size_t{64} << 20;

  // Reserves `reserve_bytes` (rounded up to whole slabs, at most kMaxReserve) of address space,
  // or half as much repeatedly (not below kMinReserve) where the system refuses that much.
  static Result<std::unique_ptr<Arena>> Create(size_t reserve_bytes = kMaxReserve);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  NodeSpace space() const noexcept { return NodeSpace{base_}; }
  SlabMeta& meta(uint32_t slab) noexcept { return meta_[slab]; }
  static uint32_t SlabOf(NodeId id) noexcept { return id >> kUnitsPerSlabShift; }
  static NodeId FirstNode(uint32_t slab) noexcept { return slab << kUnitsPerSlabShift; }

  // A committed slab, or ResourceExhausted when the reservation is used up.
  Result<uint32_t> AcquireSlab();
  // Gives a slab back; its pages return to the OS. REQUIRES: nothing references its memory.
  void ReleaseSlab(uint32_t slab);

  size_t committed_bytes() const;
  size_t reserved_bytes() const noexcept { return reserved_; }

 private:
  Arena(char* base, size_t reserved, SlabMeta* meta)
      : base_(base), reserved_(reserved), meta_(meta) {}

  char* const base_;
  const size_t reserved_;
  SlabMeta* const meta_;  // one per slab, lazily zeroed pages

  mutable std::mutex mu_;
  uint32_t next_slab_ = 1;  // slab 0 is never handed out (kNoNode lives there)
  uint32_t slabs_in_use_ = 0;
  std::vector<uint32_t> free_slabs_;
};

}  // namespace larder
