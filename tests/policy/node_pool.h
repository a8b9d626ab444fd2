// Test helper: 16-byte nodes and sentinel blocks from a real arena, for policy tests.
#pragma once

#include <memory>
#include <vector>

#include "base/arena.h"
#include "base/slab_allocator.h"

namespace larder::testing {

class NodePool {
 public:
  NodePool() : arena_(std::move(*Arena::Create(size_t{256} << 20))), alloc_(arena_.get()) {}
  NodeSpace space() const { return alloc_.space(); }
  // A zeroed node of `bytes` bytes.
  NodeId New(size_t bytes = 16) {
    NodeId id = *alloc_.Allocate(bytes);
    std::memset(space().At(id), 0, bytes);
    return id;
  }

 private:
  std::unique_ptr<Arena> arena_;
  SlabAllocator alloc_;
};

}  // namespace larder::testing
