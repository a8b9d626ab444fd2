// SnapshotView: one snapshot of a directory opened for reading, its entries decoded for display
// and export (record snapshots: records checked against the manifest's schema). Used by every
// cachectl command; no engine involved.
//
// Thread safety: one thread at a time.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/record.h"
#include "larder/snapshot.h"
#include "larder/status.h"
#include "snapshot/store.h"

namespace larder::tools {

struct Entry {
  std::string_view key;    // stored key bytes (an encoded primary key for record snapshots)
  std::string_view value;  // stored value bytes (a record encoding for record snapshots)
  int64_t expires_at_ms = 0;   // 0 = never
  int64_t stale_until_ms = 0;  // 0 = none
  int64_t sliding_ttl_ns = 0;
  uint64_t version = 0;
  std::vector<std::string_view> tags;
  RecordView record;  // record snapshots only
};

class SnapshotView {
 public:
  // Opens `store`'s snapshot `id` (the newest when unset).
  static Result<SnapshotView> Open(snapshot::SnapshotStore* store, std::optional<uint64_t> id);

  const SnapshotInfo& info() const noexcept { return info_; }
  bool is_record() const noexcept { return schema_ != nullptr; }
  const std::shared_ptr<const Schema>& schema() const noexcept { return schema_; }

  // Calls fn for each entry in stored order until it returns false. Every batch is checked and
  // every record validated; Corruption names the batch and entry. `progress(batches_done)` is
  // called after each batch.
  Status ForEach(const std::function<bool(const Entry&)>& fn,
                 const std::function<void(uint32_t)>& progress = {}) const;

  // How people name an entry: the primary key's value for records, else the key with
  // non-printable bytes escaped (\xNN).
  std::string DisplayKey(const Entry& e) const;

 private:
  snapshot::SnapshotStore* store_ = nullptr;
  SnapshotInfo info_;
  std::shared_ptr<const Schema> schema_;
};

// `bytes` with non-printable characters escaped as \xNN (and backslash as \\).
std::string Printable(std::string_view bytes);

}  // namespace larder::tools
