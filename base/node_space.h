// NodeSpace: 32-bit names for 16-byte-aligned memory inside one arena (compressed pointers).
//
// Intrusive links (eviction lists, timer buckets) and hash-table slots store NodeIds instead of
// 8-byte pointers; that halves their cost and is what keeps per-entry overhead under 48 bytes.
#pragma once

#include "base/private.h"

#include <cstdint>

namespace larder {

using NodeId = uint32_t;
inline constexpr NodeId kNoNode = 0;  // the arena never hands out unit 0

struct NodeSpace {
  static constexpr int kUnitShift = 4;  // ids count 16-byte units from base

  char* base = nullptr;

  char* At(NodeId id) const noexcept { return base + (uint64_t{id} << kUnitShift); }
  NodeId IdOf(const void* p) const noexcept {
    return static_cast<NodeId>((static_cast<const char*>(p) - base) >> kUnitShift);
  }
};

}  // namespace larder
