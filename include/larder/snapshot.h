// Snapshots: a cache's entries persisted in a RocksDB directory, so a restarted process starts
// warm. Cache::SaveSnapshot / LoadSnapshot (cache.h) use these types; `cachectl` reads the same
// directories. Format: docs/snapshot-format.md.
//
// A directory holds many snapshots, each identified by an increasing id. A snapshot becomes
// visible only once completely written: a crash while saving leaves the earlier ones intact and
// the partial one invisible (its leftovers are removed by the next save).
//
// Thread safety: plain value types. One process at a time may write a directory; a second writer
// gets Unavailable ("in use").
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "larder/record.h"

namespace larder {

// The snapshot format this build writes, and the newest it reads.
inline constexpr uint32_t kSnapshotFormatVersion = 1;

enum class SnapshotKind : uint8_t {
  kKeyValue = 0,  // a Cache: keys and byte values
  kRecord = 1,    // a RecordCache: primary keys and records
};

struct SaveSnapshotOptions {
  // The cache's identity: a load with another name is refused. Useful when one directory
  // collects snapshots of several caches, or to refuse loading the wrong one.
  std::string name{};
  // After the new snapshot is published, delete all but the newest `keep_last`; 0 = keep all.
  size_t keep_last = 0;
};

struct LoadSnapshotOptions {
  // Which snapshot; unset = the newest.
  std::optional<uint64_t> id{};
  // Must equal the name the snapshot was saved with.
  std::string name{};
};

// What a snapshot's manifest says about it.
struct SnapshotInfo {
  uint64_t id = 0;
  int64_t created_at_ms = 0;  // wall clock, Unix epoch milliseconds
  std::string larder_version{};
  uint32_t format_version = 0;
  SnapshotKind kind = SnapshotKind::kKeyValue;
  std::string name{};
  uint64_t entry_count = 0;
  uint32_t batch_count = 0;
  uint64_t byte_count = 0;  // stored batch bytes (before RocksDB's own compression)
  // Record snapshots: the record schema (primary key included) and the secondary indexes.
  std::vector<FieldSpec> fields{};
  std::string primary_key{};
  std::vector<std::pair<std::string, bool>> indexes{};  // (field, unique)
};

struct LoadSnapshotResult {
  SnapshotInfo snapshot{};
  uint64_t loaded = 0;   // entries written to the cache
  uint64_t expired = 0;  // entries skipped because they expired since the save
  uint64_t kept = 0;     // entries skipped because the cache already held the key
};

}  // namespace larder
