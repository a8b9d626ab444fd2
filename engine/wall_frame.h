// WallFrame: converts monotonic deadlines to wall-clock epoch milliseconds and back against one
// clock reading, for snapshots (and any other persisted form).
#pragma once

#include "base/private.h"

#include <cstdint>

#include "engine/entry.h"
#include "larder/clock.h"

namespace larder::internal {

__extension__ typedef __int128 WideInt;  // overflow-free intermediate arithmetic

struct WallFrame {
  explicit WallFrame(const Clock& clock)
      : mono_now(clock.NowNanos()), wall_now(clock.ToWallMillis(mono_now)) {}

  // kNever -> 0 ("never"). Rounded up to the millisecond, so a restored entry never expires
  // before its time (it may live up to 1 ms longer).
  int64_t ToWall(int64_t deadline) const noexcept {
    if (deadline == kNever) return 0;
    const WideInt diff = static_cast<WideInt>(deadline) - mono_now;
    const WideInt ms = diff >= 0 ? (diff + 999'999) / 1'000'000 : diff / 1'000'000;
    const WideInt wall = wall_now + ms;
    return wall == 0 ? 1 : static_cast<int64_t>(wall);
  }
  // 0 -> kNever. Saturates below kNever, like DeadlineAfter.
  int64_t ToMono(int64_t wall_ms) const noexcept {
    if (wall_ms == 0) return kNever;
    const WideInt mono =
        static_cast<WideInt>(mono_now) + (static_cast<WideInt>(wall_ms) - wall_now) * 1'000'000;
    if (mono >= kNever) return kNever - 1;
    if (mono < -(kNever / 2)) return -(kNever / 2);
    return static_cast<int64_t>(mono);
  }

  // Whether an entry with these deadlines (monotonic; kNever = none) can still be served now:
  // fresh, or stale within its window.
  bool Servable(int64_t deadline, int64_t stale_until) const noexcept {
    return deadline > mono_now || (stale_until != kNever && stale_until > mono_now);
  }

  int64_t mono_now;
  int64_t wall_now;
};

}  // namespace larder::internal
