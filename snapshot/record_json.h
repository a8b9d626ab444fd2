// JSON arrays of records in the seed's two shapes, parsed all at once so a caller can validate
// everything before applying anything:
//   [ {record}, ... ]                                  (has_meta = false)
//   [ {"data": {record}, "expiresAt": ms | null}, ... ] (has_meta = true)
#pragma once

#include "base/private.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "larder/record.h"
#include "larder/status.h"

namespace larder::json {

struct ParsedRecord {
  Record record;
  std::optional<int64_t> expires_at_ms;  // with meta only; unset = null (never expires)
};

// Parses the whole array. InvalidArgument names the element index and the problem; nothing is
// returned for a partly valid array.
Result<std::vector<ParsedRecord>> ParseRecordArray(const std::shared_ptr<const Schema>& schema,
                                                   std::string_view text, bool has_meta);

}  // namespace larder::json
