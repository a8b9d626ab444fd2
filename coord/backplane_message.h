// Backplane messages: what one instance tells the others, as text on a pub/sub channel.
//
//   "lb1 <publisher> <sequence> <kind> <payload>"
//
// publisher: 1 to 64 bytes without spaces; sequence: decimal without leading zeros, at least 1; kind:
// one byte, k (key), p (pattern), t (tag), c (clear, empty payload) or f (records whose field has
// a value, see EncodeFieldPayload); payload: every byte after the space that ends the kind,
// unchanged (keys, patterns and tags may hold any byte).
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "larder/record.h"

namespace larder::coord {

enum class BackplaneKind : char {
  kKey = 'k', kPattern = 'p', kTag = 't', kClear = 'c', kField = 'f'
};

struct BackplaneMessage {
  std::string_view publisher;
  uint64_t sequence = 0;
  BackplaneKind kind = BackplaneKind::kKey;
  std::string_view payload;  // views the decoded text
};

std::string EncodeBackplaneMessage(std::string_view publisher, uint64_t sequence,
                                   BackplaneKind kind, std::string_view payload);
// nullopt for anything that is not a well-formed message.
std::optional<BackplaneMessage> DecodeBackplaneMessage(std::string_view text);

// A record cache's invalidation: the records whose `field` equals `value`.
struct FieldPayload {
  std::string_view field;
  FieldValue value;  // a string or bytes payload views the decoded text
};
// "<field length>:<field><value as index::EncodeKey>"; the field is 1 to 255 bytes.
std::string EncodeFieldPayload(std::string_view field, const FieldValue& value);
// nullopt for anything EncodeFieldPayload cannot have made.
std::optional<FieldPayload> DecodeFieldPayload(std::string_view payload);

}  // namespace larder::coord
