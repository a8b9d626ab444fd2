// The in-process rate limiter: fixed windows and exact sliding windows over striped maps.
#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <utility>

#include "larder/coord.h"
#include "rate_limit_args.h"
#include "striped_map.h"

namespace larder {
namespace {

constexpr size_t kSweepEvery = 1024;  // operations on a stripe between sweeps of dead keys

struct KeyState {
  int64_t window = 0;        // ns, from the last check
  int64_t start = 0;         // fixed: the window's start
  uint64_t count = 0;        // fixed: requests counted in it
  std::deque<int64_t> times;  // sliding: the counted requests' times, oldest first
};

class LocalRateLimiter final : public RateLimiter {
 public:
  LocalRateLimiter(RateLimitMode mode, std::shared_ptr<Clock> clock)
      : mode_(mode), clock_(clock != nullptr ? std::move(clock) : SystemClock()) {}

  Result<RateLimitResult> CheckRateLimit(std::string_view key, uint64_t limit,
                                         Duration window) override {
    if (Status s = coord::CheckLimitAndWindow(limit, window); !s.ok()) return s;
    const int64_t now = clock_->NowNanos();
    return keys_.With(key, [&](auto& map, size_t& ops) {
      if (++ops >= kSweepEvery) {
        ops = 0;
        std::erase_if(map, [&](const auto& kv) { return Dead(kv.second, now); });
      }
      KeyState& s = map[std::string(key)];
      s.window = window.count();
      return Count(&s, limit, now);
    });
  }

  Result<RateLimitResult> GetRateLimitInfo(std::string_view key, uint64_t limit) override {
    if (Status s = coord::CheckLimit(limit); !s.ok()) return s;
    const int64_t now = clock_->NowNanos();
    return keys_.With(key, [&](auto& map, size_t&) {
      RateLimitResult r{true, limit, Duration::zero()};
      auto it = map.find(key);
      if (it == map.end() || Dead(it->second, now)) return r;
      KeyState s = it->second;  // a copy: looking must not count or trim
      const uint64_t used = Used(&s, now);
      r.remaining = used < limit ? limit - used : 0;
      r.allowed = r.remaining > 0;
      r.reset_in = ResetIn(s, now);
      return r;
    });
  }

 private:
  // Requests counted in the window that contains `now` (trims a sliding log).
  uint64_t Used(KeyState* s, int64_t now) const {
    if (mode_ == RateLimitMode::kFixedWindow) {
      if (s->count == 0 || now - s->start >= s->window) {  // a window opens at its first request
        s->start = now;
        s->count = 0;
      }
      return s->count;
    }
    while (!s->times.empty() && now - s->times.front() >= s->window) s->times.pop_front();
    return s->times.size();
  }

  Duration ResetIn(const KeyState& s, int64_t now) const {
    if (mode_ == RateLimitMode::kFixedWindow) {
      return s.count == 0 ? Duration::zero() : Duration(s.start + s.window - now);
    }
    return s.times.empty() ? Duration::zero() : Duration(s.times.front() + s.window - now);
  }

  RateLimitResult Count(KeyState* s, uint64_t limit, int64_t now) const {
    const uint64_t used = Used(s, now);
    RateLimitResult r;
    r.allowed = used < limit;
    if (r.allowed) {
      if (mode_ == RateLimitMode::kFixedWindow) {
        ++s->count;
      } else {
        s->times.push_back(now);
      }
    }
    const uint64_t after = r.allowed ? used + 1 : used;
    r.remaining = after < limit ? limit - after : 0;
    r.reset_in = ResetIn(*s, now);
    return r;
  }

  bool Dead(const KeyState& s, int64_t now) const {
    if (mode_ == RateLimitMode::kFixedWindow) return now - s.start >= s.window;
    return s.times.empty() || now - s.times.back() >= s.window;
  }

  const RateLimitMode mode_;
  const std::shared_ptr<Clock> clock_;
  coord::StripedMap<KeyState> keys_;
};

}  // namespace

std::unique_ptr<RateLimiter> NewLocalRateLimiter(RateLimitMode mode, std::shared_ptr<Clock> clock) {
  return std::make_unique<LocalRateLimiter>(mode, std::move(clock));
}

}  // namespace larder
