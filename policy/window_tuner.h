// WindowTuner: picks W-TinyLFU's window size by simulating alternatives on the same requests.
//
// Hill climbing on the hit rate (Caffeine's approach) compares one window size now with another a
// sample earlier; on traffic whose mix shifts from sample to sample the change in hit rate is
// mostly the traffic's, and the climber wanders (docs/decisions/0012-w-tinylfu.md shows it on the
// sprite and scarab traces). The tuner instead runs small shadow W-TinyLFU caches side by side
// over the same hash-sampled share of the keys (spatial sampling as in SHARDS, Waldspurger et al.,
// FAST 2015), each with a different fixed window share, scores each by its hits with an
// exponential decay per period, and gives the real window the share of the best scorer. This is
// the mini-simulation approach of Einziger et al., "Adaptive Software Cache Management"
// (Middleware 2018).
//
// Cost: kShares shadow policies over 1/rate of the keys, the rate chosen so a shadow holds about
// 256 entries (caches that small shadow every key); about 5 x 256 x 72 bytes of memory.
//
// Thread safety: none; owned by one policy, under its shard lock.
#pragma once

#include "base/private.h"

#include <array>
#include <cstdint>
#include <memory>

namespace larder {

class WindowTuner {
 public:
  // The window shares the shadows try.
  static constexpr std::array<double, 5> kShares = {0.01, 0.10, 0.30, 0.60, 0.90};

  // `capacity` in weight units, `expected_entries` entries when full; `weighted`: requests carry
  // their weight.
  WindowTuner(uint64_t capacity, uint64_t expected_entries, bool weighted);
  ~WindowTuner();
  WindowTuner(const WindowTuner&) = delete;
  WindowTuner& operator=(const WindowTuner&) = delete;

  // One request (a hit or a miss in the real cache) for `hash` weighing `weight`. True when the
  // real window should now take share() of the capacity.
  bool Record(uint32_t hash, uint64_t weight);
  double share() const noexcept { return kShares[best_]; }
  uint32_t sampling_rate() const noexcept { return 1u << rate_shift_; }
  uint64_t periods() const noexcept { return periods_; }

 private:
  class Shadow;

  int rate_shift_ = 0;
  uint64_t period_;  // sampled requests per scoring
  uint64_t seen_ = 0;
  uint64_t periods_ = 0;
  size_t best_ = 0;
  std::array<std::unique_ptr<Shadow>, kShares.size()> shadows_;
  std::array<double, kShares.size()> scores_{};
};

}  // namespace larder
