// Large values of a multi-valued index: a directory in the value's own entry and the primary
// keys spread over hash-partitioned chunks, so adding or removing one record copies one chunk
// (tens of keys) instead of the value's whole key list.
//
//   directory   0xFF 0xFF 0xFF, u32 generation, u8 bits, u64 count   (little-endian)
//   chunk key   u32 generation, u32 chunk, then the value's index key (prefix-free: fixed-size
//               head, so chunks of different values never share a key)
//   chunk       a PkList of the keys whose ChunkOf(pk, bits) is the chunk's number
//
// A PkList never starts like a directory: its third byte is the first key's type byte (a small
// FieldType value, see key_codec.h). Chunks are rewritten under a fresh generation when the
// value is split further, so a reader that sees the same generation before and after reading
// the chunks saw one consistent partition.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "base/hash.h"

namespace larder::index {

struct ChunkDirectory {
  uint32_t generation = 0;
  uint8_t bits = 0;    // 2^bits chunks
  uint64_t count = 0;  // keys in all chunks together
};

inline constexpr size_t kDirectoryBytes = 3 + 4 + 1 + 8;

inline std::optional<ChunkDirectory> DecodeDirectory(std::string_view v) {
  if (v.size() != kDirectoryBytes || static_cast<uint8_t>(v[0]) != 0xFF ||
      static_cast<uint8_t>(v[1]) != 0xFF || static_cast<uint8_t>(v[2]) != 0xFF) {
    return std::nullopt;
  }
  ChunkDirectory d;
  std::memcpy(&d.generation, v.data() + 3, 4);
  d.bits = static_cast<uint8_t>(v[7]);
  std::memcpy(&d.count, v.data() + 8, 8);
  return d;
}

inline std::string EncodeDirectory(const ChunkDirectory& d) {
  std::string out(kDirectoryBytes, '\xFF');
  std::memcpy(out.data() + 3, &d.generation, 4);
  out[7] = static_cast<char>(d.bits);
  std::memcpy(out.data() + 8, &d.count, 8);
  return out;
}

inline std::string ChunkKey(uint32_t generation, uint32_t chunk, std::string_view value_key) {
  std::string out(8 + value_key.size(), '\0');
  std::memcpy(out.data(), &generation, 4);
  std::memcpy(out.data() + 4, &chunk, 4);
  std::memcpy(out.data() + 8, value_key.data(), value_key.size());
  return out;
}

// The chunk of `pk` among 2^bits: the top bits of its hash. REQUIRES: 1 <= bits <= 32.
inline uint32_t ChunkOf(std::string_view pk, uint8_t bits) {
  return static_cast<uint32_t>(HashKey(pk) >> (64 - bits));
}

}  // namespace larder::index
