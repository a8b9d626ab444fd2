// The encoded form of a record, shared by RecordBuilder, RecordView, caches and snapshots.
//
//   u16 field_count                      little-endian, == schema size
//   u8  null_bitmap[ceil(n / 8)]          bit i set = field i is null
//   padding to a multiple of 8
//   u64 slot[n]                           bool/int64/timestamp: the value; double: its bits;
//                                         string/bytes: offset (low 32 bits, from the record's
//                                         first byte) and length (high 32 bits); null: 0
//   payload bytes of strings and bytes fields, in field order
//
// Slots are read with memcpy: a record inside a cache entry is not 8-byte aligned. Changing
// this layout changes persisted data: bump kRecordFormatVersion (docs/snapshot-format.md).
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "larder/record.h"

namespace larder::record_format {

inline constexpr uint32_t kRecordFormatVersion = 1;

inline size_t BitmapBytes(size_t n) { return (n + 7) / 8; }
inline size_t SlotsOffset(size_t n) { return (2 + BitmapBytes(n) + 7) & ~size_t{7}; }
inline size_t FixedBytes(size_t n) { return SlotsOffset(n) + 8 * n; }

inline bool HasPayload(FieldType t) { return t == FieldType::kString || t == FieldType::kBytes; }

// Strings are UTF-8 text; the JSON forms depend on it.
bool ValidUtf8(std::string_view s);
// InvalidArgument naming the first field whose value does not fit the schema (type,
// nullability, UTF-8 for strings).
Status Check(const Schema& schema, std::span<const FieldValue> values);
// Bytes needed to encode `values`. REQUIRES: Check passed.
size_t EncodedSize(const Schema& schema, std::span<const FieldValue> values);
// Writes EncodedSize bytes to `out`. REQUIRES: Check passed.
void Encode(const Schema& schema, std::span<const FieldValue> values, char* out);
// Corruption naming the problem when `bytes` is not a well-formed record of `schema`.
Status Validate(const Schema& schema, std::string_view bytes);

inline uint64_t LoadSlot(const char* record, size_t n, size_t i) {
  uint64_t v;
  std::memcpy(&v, record + SlotsOffset(n) + 8 * i, 8);
  return v;
}
inline bool IsNull(const char* record, size_t i) {
  return (static_cast<uint8_t>(record[2 + i / 8]) >> (i % 8)) & 1;
}

}  // namespace larder::record_format
