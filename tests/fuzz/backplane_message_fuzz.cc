// Fuzzes the backplane message decoder: whatever it accepts re-encodes to the same bytes, and
// whatever it builds decodes back to the same fields; the same for record field payloads.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "coord/backplane_message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using larder::coord::DecodeBackplaneMessage;
  using larder::coord::EncodeBackplaneMessage;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto m = DecodeBackplaneMessage(text)) {
    if (EncodeBackplaneMessage(m->publisher, m->sequence, m->kind, m->payload) != text) {
      std::abort();
    }
  }
  if (auto f = larder::coord::DecodeFieldPayload(text)) {
    if (larder::coord::EncodeFieldPayload(f->field, f->value) != text) std::abort();
  }
  // The input as a payload of every kind but clear.
  for (auto kind : {larder::coord::BackplaneKind::kKey, larder::coord::BackplaneKind::kPattern,
                    larder::coord::BackplaneKind::kTag}) {
    const std::string encoded = EncodeBackplaneMessage("p", size + 1, kind, text);
    auto back = DecodeBackplaneMessage(encoded);
    if (!back || back->payload != text || back->sequence != size + 1 || back->kind != kind ||
        back->publisher != "p") {
      std::abort();
    }
  }
  return 0;
}
