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
// One tuner serves a whole cache: every shard's policy feeds it and follows its choice, so the
// shadows see the cache's whole key space (sampled) whatever the shard count.
//
// Cost: kShares shadow policies over 1/rate of the keys, the rate chosen so a shadow holds about
// 256 entries (caches that small shadow every key); about 5 x 256 x 72 bytes of memory.
//
// Thread safety: Record and share_index may be called from any thread. Record is lossy under
// contention: a sampled request that finds the tuner busy is dropped.
#pragma once

#include "base/private.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

#include "base/mutex.h"

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

  // One request (a hit or a miss in the real cache) for `hash` weighing `weight`.
  void Record(uint32_t hash, uint64_t weight) noexcept {
    if (rate_shift_ != 0 && ((hash * 0x9E3779B1u) >> (32 - rate_shift_)) != 0) return;
    RecordSampled(hash, weight);
  }
  // Index into kShares of the window share the real caches should use now.
  size_t share_index() const noexcept { return best_.load(std::memory_order_relaxed); }
  double share() const noexcept { return kShares[share_index()]; }
  uint32_t sampling_rate() const noexcept { return 1u << rate_shift_; }
  uint64_t periods() const noexcept { return periods_.load(std::memory_order_relaxed); }

 private:
  class Shadow;
  void RecordSampled(uint32_t hash, uint64_t weight) noexcept;

  // Read by every request: kept apart from what sampled requests write.
  int rate_shift_ = 0;
  alignas(64) std::atomic<size_t> best_{0};
  std::atomic<uint64_t> periods_{0};

  alignas(64) SpinMutex mu_;
  uint64_t period_;  // sampled requests per scoring
  uint64_t seen_ GUARDED_BY(mu_) = 0;
  std::array<std::unique_ptr<Shadow>, kShares.size()> shadows_;  // guarded by mu_
  std::array<double, kShares.size()> scores_ GUARDED_BY(mu_){};
};

}  // namespace larder
