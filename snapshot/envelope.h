// Envelope: how every snapshot value is stored. 8 bytes of XXH3-64 (little-endian) over the
// payload, then the payload (a FlatBuffer). See docs/snapshot-format.md.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "larder/status.h"

namespace larder::snapshot {

inline constexpr size_t kEnvelopeHeader = 8;

// The stored form of `payload`.
std::string Seal(std::string_view payload);

// The payload of `stored` once its checksum matches; Corruption (naming the mismatch) otherwise.
Result<std::string_view> Unseal(std::string_view stored);

}  // namespace larder::snapshot
