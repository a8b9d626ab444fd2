// The eviction suite: the cost of the eviction policy itself. Each system holds `capacity`
// entries (16-byte keys and values) and then only inserts keys it has never seen, so every insert
// evicts one entry: larder with W-TinyLFU (its default), with LRU and with S3-FIFO, beside
// RocksDB's sharded LRUCache, in the same run.
#pragma once

#include <cstdint>
#include <vector>

#include "results.h"

namespace larder::bench {

struct EvictionConfig {
  std::vector<int> thread_counts;
  double seconds = 2.0;
  int reps = 3;
  uint64_t capacity = 1'000'000;
};

// Fills results->eviction (ops = inserts of new keys per second).
void RunEvictionSuite(const EvictionConfig& config, Results* results);

}  // namespace larder::bench
