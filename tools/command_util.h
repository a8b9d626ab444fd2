// Pieces the cachectl commands share: opening a directory, JSON forms of manifests and entries.
#pragma once

#include "base/private.h"

#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>

#include "larder/snapshot.h"
#include "snapshot/store.h"
#include "tools/output.h"
#include "tools/snapshot_view.h"

namespace larder::tools {

using Json = nlohmann::ordered_json;

Result<std::unique_ptr<snapshot::SnapshotStore>> OpenStore(const std::string& dir, bool write);
std::string KindName(SnapshotKind kind);
Json InfoJson(const SnapshotInfo& info);
// A directory open for reading with one of its snapshots, or the exit code of why not (the
// reason already printed).
struct Opened {
  std::unique_ptr<snapshot::SnapshotStore> store;
  std::optional<SnapshotView> view;
  int exit = 0;
};
Opened OpenView(Output& o, const std::string& dir, std::optional<uint64_t> id);
// {"key": ..., "value": ... | "data": {...}, "expiresAt": ms|null, ...}.
Json EntryJson(const SnapshotView& view, const Entry& e);

}  // namespace larder::tools
