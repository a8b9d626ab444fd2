// Key hashing: XXH3-64, inlined for the short keys a cache sees most.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace larder {

inline uint64_t HashKey(std::string_view key) noexcept {
  return XXH3_64bits(key.data(), key.size());
}

}  // namespace larder
