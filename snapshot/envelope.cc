#include "snapshot/envelope.h"

#include <xxhash.h>

#include <fmt/format.h>

namespace larder::snapshot {
namespace {

uint64_t LoadLe64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

}  // namespace

std::string Seal(std::string_view payload) {
  std::string out(kEnvelopeHeader + payload.size(), '\0');
  uint64_t sum = XXH3_64bits(payload.data(), payload.size());
  for (size_t i = 0; i < 8; ++i, sum >>= 8) out[i] = static_cast<char>(sum & 0xff);
  if (!payload.empty()) std::memcpy(out.data() + kEnvelopeHeader, payload.data(), payload.size());
  return out;
}

Result<std::string_view> Unseal(std::string_view stored) {
  if (stored.size() < kEnvelopeHeader) {
    return Status::Corruption(fmt::format("{} bytes, shorter than the {}-byte checksum header",
                                          stored.size(), kEnvelopeHeader));
  }
  const std::string_view payload = stored.substr(kEnvelopeHeader);
  const uint64_t want = LoadLe64(stored.data());
  const uint64_t got = XXH3_64bits(payload.data(), payload.size());
  if (want != got) {
    return Status::Corruption(
        fmt::format("checksum mismatch (stored {:016x}, computed {:016x})", want, got));
  }
  return payload;
}

}  // namespace larder::snapshot
