// The snapshot suite: saving and loading N entries (16-byte keys; 16- and 100-byte values) as a
// larder snapshot in RocksDB, against Redis writing (SAVE) and loading (a restart) an RDB file
// with the same keys and values, in the same run. Also the bytes per entry on disk.
#pragma once

#include <cstdint>
#include <filesystem>

#include "results.h"

namespace larder::bench {

struct SnapshotConfig {
  std::filesystem::path work_dir;  // snapshot directories and the RDB file go here
  uint64_t entries = 10'000'000;
  int reps = 3;
};

// Fills results->snapshot (ops = entries per second) and results->snapshot_size.
void RunSnapshotSuite(const SnapshotConfig& config, Results* results);

}  // namespace larder::bench
