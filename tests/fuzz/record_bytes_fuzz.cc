// Fuzzes the record decoder: any bytes either fail validation or decode into a record whose
// every field can be read and whose JSON form parses back to the same record.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "fuzz_schema.h"
#include "larder/record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace larder;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<Record> r = Record::FromBytes(fuzz::Schema(), bytes);
  if (!r.ok()) return 0;
  for (size_t i = 0; i < r->view().size(); ++i) (void)r->Get(i).ToString();
  Result<Record> back = Record::FromJson(fuzz::Schema(), r->ToJson());
  if (!back.ok()) std::abort();
  // NaN compares unequal to itself as a double but its bytes round-trip only up to the bits of
  // the NaN; compare the JSON forms, which are canonical.
  if (back->ToJson() != r->ToJson()) std::abort();
  return 0;
}
