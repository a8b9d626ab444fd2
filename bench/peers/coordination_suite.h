// The coordination suite: what larder's Redis-backed coordination costs beside the plain Redis
// commands an application would send itself, and beside the in-process versions. Against a
// throwaway redis-server on loopback, one thread:
//   - rate limits: CheckRateLimit (fixed and sliding windows, admitted and refused) beside a
//     hand-rolled limiter's MULTI pipeline (one round trip) and NewLocalRateLimiter;
//   - locks: AcquireLock + ReleaseLock beside SET NX PX + DEL (and + a compare-and-delete
//     script) and NewLocalLockService;
//   - propagation: a Backplane invalidation from one process to another, beside a message of
//     larder's Redis PubSub and a bare PUBLISH -> SUBSCRIBE between the same two processes
//     (propagation.h).
// Every cell is repeated `reps` times; the tables show medians and min-max.
#pragma once

#include <chrono>
#include <cstdint>

#include "results.h"

namespace larder::bench {

struct CoordinationConfig {
  int reps = 5;
  double seconds = 1.0;  // one timed run of a rate-limit or lock cell
  uint64_t keys = 1000;  // limiter and lock keys, used in rotation
  // Propagation: messages timed per path and repetition, after `warmup_messages` untimed ones,
  // one every `message_interval` (a steady trickle, not a flood: queueing is not measured).
  uint64_t messages = 1000;
  uint64_t warmup_messages = 100;
  std::chrono::microseconds message_interval{500};
};

// The configuration for --quick: one short repetition of each cell.
CoordinationConfig QuickCoordinationConfig();

// Fills results->coordination and results->propagation. Skips (with a note) when redis-server
// is not installed.
void RunCoordinationSuite(const CoordinationConfig& config, Results* results);

}  // namespace larder::bench
