// Fuzzes JSON record arrays in both shapes: parsing never crashes, and whatever parses writes
// out to JSON that parses back to the same records.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "fuzz_schema.h"
#include "snapshot/record_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace larder;
  if (size == 0) return 0;
  const bool has_meta = data[0] & 1;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  auto parsed = json::ParseRecordArray(fuzz::Schema(), text, has_meta);
  if (!parsed.ok()) return 0;
  std::string out = "[";
  for (size_t i = 0; i < parsed->size(); ++i) {
    if (i) out += ',';
    out += (*parsed)[i].record.ToJson();
  }
  out += ']';
  auto again = json::ParseRecordArray(fuzz::Schema(), out, false);
  if (!again.ok() || again->size() != parsed->size()) std::abort();
  for (size_t i = 0; i < parsed->size(); ++i) {
    if ((*again)[i].record.ToJson() != (*parsed)[i].record.ToJson()) std::abort();
  }
  return 0;
}
