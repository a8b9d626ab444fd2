// The invalidation suite: what pattern and tag invalidation cost, and what the prefix index
// costs writes. One million keys in 100 groups of 10,000 ("group:<g>:item:<i>"):
//   - pattern: InvalidatePattern("group:<g>:*") removes 1% of the cache; larder with the prefix
//     index, larder scanning, and Redis (SCAN MATCH + UNLINK, what a Redis cache layer does);
//   - tag: InvalidateByTag of a tag carried by 1% of the entries, beside Delete of the same keys;
//   - set: single-threaded Set of the 1M keys with and without the prefix index.
// Every cell is the median of `reps` runs (ops = keys removed, or written, per second).
#pragma once

#include <cstdint>

#include "results.h"

namespace larder::bench {

struct InvalidationConfig {
  int reps = 5;
  uint64_t keys = 1'000'000;
  uint64_t groups = 100;
};

// Fills results->invalidation.
void RunInvalidationSuite(const InvalidationConfig& config, Results* results);

}  // namespace larder::bench
