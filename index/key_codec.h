// Index keys: a field value as bytes that compare equal exactly when the values do, types
// included, so 1 and "1" never collide (a defect of the seed's Map-based index).
//
//   [type byte][payload]   int64/timestamp/bool: 8 bytes big-endian; double: its bits (-0.0 as
//                          0.0); string/bytes: the bytes. Null values are not indexed.
#pragma once

#include "base/private.h"

#include <bit>
#include <cstdint>
#include <optional>
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

// The value EncodeKey made `key` from (a string or bytes payload views `key`); nullopt when
// `key` is not an encoded value (unknown type byte, wrong payload size, a null, a bool other than
// 0 or 1, -0.0), so that a value has one encoding.
inline std::optional<FieldValue> DecodeKey(std::string_view key) {
  if (key.empty()) return std::nullopt;
  const auto type = static_cast<FieldType>(static_cast<unsigned char>(key[0]));
  const std::string_view payload = key.substr(1);
  const auto get64 = [&] {
    uint64_t x = 0;
    for (unsigned char c : payload) x = (x << 8) | c;
    return x;
  };
  switch (type) {
    case FieldType::kString: return FieldValue::String(payload);
    case FieldType::kBytes: return FieldValue::Bytes(payload);
    case FieldType::kBool:
    case FieldType::kInt64:
    case FieldType::kTimestamp:
    case FieldType::kDouble: {
      if (payload.size() != 8) return std::nullopt;
      const uint64_t x = get64();
      if (type == FieldType::kBool) {
        if (x > 1) return std::nullopt;
        return FieldValue::Bool(x == 1);
      }
      if (type == FieldType::kInt64) return FieldValue::Int64(static_cast<int64_t>(x));
      if (type == FieldType::kTimestamp) return FieldValue::Time({static_cast<int64_t>(x)});
      if (x == std::bit_cast<uint64_t>(-0.0)) return std::nullopt;  // encoded as 0.0
      return FieldValue::Double(std::bit_cast<double>(x));
    }
    case FieldType::kNull: break;
  }
  return std::nullopt;
}

}  // namespace larder::index
