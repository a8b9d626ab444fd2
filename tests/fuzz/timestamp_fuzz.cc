// Fuzzes ISO 8601 parsing: anything accepted formats back to text that parses to the same
// instant.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "larder/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace larder;
  Result<Timestamp> t = ParseTimestamp(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!t.ok()) return 0;
  Result<Timestamp> again = ParseTimestamp(FormatTimestamp(*t));
  if (!again.ok() || again->micros != t->micros) std::abort();
  return 0;
}
