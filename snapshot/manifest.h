// Manifests: one per published snapshot (snapshot.fbs, table Manifest) in a checksummed
// envelope. Decoding checks everything it hands out, so any bytes either fail with Corruption
// (or FailedPrecondition for a newer format) or give a consistent SnapshotInfo.
#pragma once

#include "base/private.h"

#include <string>
#include <string_view>

#include "larder/snapshot.h"
#include "larder/status.h"

namespace larder::snapshot {

// The stored form of `info`.
std::string EncodeManifest(const SnapshotInfo& info);
Result<SnapshotInfo> DecodeManifest(std::string_view stored);

}  // namespace larder::snapshot
