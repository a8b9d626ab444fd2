// Fuzzes the snapshot decoders. The first byte picks the input's role:
//   0: raw stored bytes for BatchReader (checksum included: mostly refused by the checksum),
//   1: a batch payload, sealed here so the FlatBuffer and column checks are reached,
//   2: a manifest payload, sealed here, for DecodeManifest.
// Whatever is accepted must be fully readable.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "snapshot/batch.h"
#include "snapshot/envelope.h"
#include "snapshot/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace larder::snapshot;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string stored = data[0] % 3 == 0 ? std::string(rest) : Seal(rest);
  if (data[0] % 3 == 2) {
    larder::Result<larder::SnapshotInfo> info = DecodeManifest(stored);
    if (info.ok() && info->format_version == 0) std::abort();
    return 0;
  }
  larder::Result<BatchReader> batch = BatchReader::Open(stored);
  if (!batch.ok()) return 0;
  size_t total = 0;
  for (size_t i = 0; i < batch->size(); ++i) {
    const EntryData e = batch->entry(i);
    total += e.key.size() + e.value.size();
    if (!e.key.empty() && (e.key.data() < stored.data() ||
                           e.key.data() + e.key.size() > stored.data() + stored.size())) {
      std::abort();
    }
    batch->ForEachTag(i, [&](std::string_view t) { total += t.size(); });
  }
  if (total == SIZE_MAX) std::abort();  // keeps the reads above from being optimized out
  return 0;
}
