// JSON text for record fields: writing (escaping, exact numbers, ISO timestamps, base64 bytes)
// and reading one JSON object into field values with simdjson's on-demand parser.
//
// The writer is small and specific to our value types; parsing is simdjson's (validating,
// UTF-8 checked). Only this file's .cc and record_json.cc include simdjson.
#pragma once

#include "base/private.h"

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "larder/record.h"
#include "larder/status.h"

namespace larder::json {

// Appends `s` as a JSON string literal (quotes, escapes for ", \ and control characters).
void AppendString(std::string* out, std::string_view s);
// Appends `v` as JSON: numbers exact (int64 as integers, doubles shortest round-trip, NaN and
// infinities as the strings "NaN", "Infinity", "-Infinity"), timestamps as ISO 8601 strings,
// bytes as base64 strings, null as null.
void AppendValue(std::string* out, const FieldValue& v);
// Appends `bytes` base64-encoded as a quoted JSON string.
void AppendBase64(std::string* out, std::string_view bytes);
// InvalidArgument when `text` is not base64 (standard alphabet, '=' padding optional).
Status DecodeBase64(std::string_view text, std::string* out);

}  // namespace larder::json
