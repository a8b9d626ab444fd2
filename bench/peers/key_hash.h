// Key16Hash: XXH3-64 of a 16-byte key, inlined, as larder hashes its keys.
#pragma once

#include <cstddef>
#include <cstdint>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "workload.h"

namespace larder::bench {

struct Key16Hash {
  uint64_t operator()(const Key16& key) const noexcept {
    return XXH3_64bits(key.bytes.data(), key.bytes.size());
  }
};

}  // namespace larder::bench
