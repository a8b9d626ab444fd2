// Index keys: a field value as bytes that compare equal exactly when the values do, types
// included, so 1 and "1" never collide (a defect of the seed's Map-based index).
//
//   [type byte][payload]   int64/timestamp/bool: 8 bytes big-endian; double: its bits (-0.0 as
//                          0.0); string/bytes: the bytes. Null values are not indexed.
#pragma once

#include "base/private.h"

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

#include "larder/record.h"

namespace larder::index {

inline void AppendKey(std::string* out, const FieldValue& v) {
  out->push_back(static_cast<char>(v.type()));
  const auto put64 = [&](uint64_t x) {
    for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(x >> shift));
  };
  switch (v.type()) {
    case FieldType::kNull: break;
    case FieldType::kBool:
    case FieldType::kInt64: put64(static_cast<uint64_t>(v.as_int64())); break;
    case FieldType::kTimestamp: put64(static_cast<uint64_t>(v.as_timestamp().micros)); break;
    case FieldType::kDouble: {
      const double d = v.as_double() == 0.0 ? 0.0 : v.as_double();
      put64(std::bit_cast<uint64_t>(d));
      break;
    }
    case FieldType::kString:
    case FieldType::kBytes: out->append(v.as_bytes()); break;
  }
}

inline std::string EncodeKey(const FieldValue& v) {
  std::string out;
  out.reserve(1 + (v.type() == FieldType::kString || v.type() == FieldType::kBytes
                       ? v.as_bytes().size()
                       : 8));
  AppendKey(&out, v);
  return out;
}

}  // namespace larder::index
