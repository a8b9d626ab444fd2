// Coordination primitives: rate limiting and locks behind interfaces with two kinds of
// implementation, in process (here) and over a Redis server (for many processes). Callers hold
// the interface, so moving from one process to many changes one constructor call.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "larder/clock.h"
#include "larder/status.h"

namespace larder {

struct RateLimitResult {
  bool allowed = false;
  uint64_t remaining = 0;  // requests still allowed in the current window
  Duration reset_in{};     // until the window frees a request again (0 when nothing is counted)
};

enum class RateLimitMode : uint8_t {
  // Counts per window of `window` starting at the key's first request (the seed's semantics);
  // cheap, but allows up to 2 x limit across a window boundary.
  kFixedWindow = 0,
  // At most `limit` requests in any interval of length `window` (a log of the last `limit`
  // request times per key): exact, O(limit) memory per key.
  kSlidingWindow = 1,
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  // Counts one request for `key` if it is allowed. InvalidArgument when limit is 0 or window is
  // not positive, naming which.
  virtual Result<RateLimitResult> CheckRateLimit(std::string_view key, uint64_t limit,
                                                 Duration window) = 0;
  // What CheckRateLimit would answer, without counting. A key never checked has `limit` left.
  virtual Result<RateLimitResult> GetRateLimitInfo(std::string_view key, uint64_t limit) = 0;
};

// In-process rate limiter: exact under concurrent callers (one lock per key stripe). Keys whose
// windows have passed are dropped as the limiter is used. `clock` null = SystemClock().
std::unique_ptr<RateLimiter> NewLocalRateLimiter(RateLimitMode mode,
                                                 std::shared_ptr<Clock> clock = nullptr);

class LockService {
 public:
  virtual ~LockService() = default;
  // Takes the lock `key` for `ttl` and returns its token (32 hex digits from the operating
  // system's CSPRNG, unguessable), or nullopt while someone holds it. A lock whose ttl passed is
  // free: its holder is presumed dead. InvalidArgument when ttl is not positive.
  virtual Result<std::optional<std::string>> AcquireLock(std::string_view key, Duration ttl) = 0;
  // Releases the lock when `token` is its holder's and it has not expired; false otherwise
  // (wrong token, expired, not held).
  virtual Result<bool> ReleaseLock(std::string_view key, std::string_view token) = 0;
  // Moves the holder's deadline to now + ttl; false when `token` does not hold the lock.
  virtual Result<bool> ExtendLock(std::string_view key, std::string_view token, Duration ttl) = 0;
};

// In-process locks. `clock` null = SystemClock().
std::unique_ptr<LockService> NewLocalLockService(std::shared_ptr<Clock> clock = nullptr);

}  // namespace larder
