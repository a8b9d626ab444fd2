// The argument checks every RateLimiter shares, so each implementation refuses the same calls
// with the same messages.
#pragma once

#include <cstdint>

#include <fmt/format.h>

#include "larder/clock.h"
#include "larder/status.h"

namespace larder::coord {

inline Status CheckLimit(uint64_t limit) {
  if (limit == 0) return Status::InvalidArgument("limit: must be at least 1, got 0");
  return Status::OK();
}

inline Status CheckLimitAndWindow(uint64_t limit, Duration window) {
  if (Status s = CheckLimit(limit); !s.ok()) return s;
  if (window.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("window: must be positive, got {} ns", window.count()));
  }
  return Status::OK();
}

}  // namespace larder::coord
