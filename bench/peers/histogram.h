// LatencyHistogram: a log-linear histogram of cycle counts, one per thread, merged after a run.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace larder::bench {

// Values below 2^kSubBits are counted exactly; above, each power of two is split into 2^kSubBits
// equal buckets, so a reported percentile is within 1/2^(kSubBits+1) (1.6%) of the true value.
class LatencyHistogram {
 public:
  static constexpr int kSubBits = 5;
  static constexpr size_t kSub = size_t{1} << kSubBits;
  static constexpr size_t kBuckets = (64 - kSubBits + 1) * kSub;

  void Record(uint64_t v) noexcept {
    ++counts_[BucketOf(v)];
    ++total_;
  }

  void Merge(const LatencyHistogram& other) noexcept {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
  }

  uint64_t count() const noexcept { return total_; }

  // The value at quantile q in [0, 1] (the midpoint of its bucket); 0 when empty.
  uint64_t Percentile(double q) const noexcept {
    if (total_ == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total_));
    if (rank >= total_) rank = total_ - 1;
    uint64_t seen = 0;
    for (size_t b = 0; b < kBuckets; ++b) {
      seen += counts_[b];
      if (seen > rank) return Midpoint(b);
    }
    return Midpoint(kBuckets - 1);
  }

 private:
  static size_t BucketOf(uint64_t v) noexcept {
    if (v < kSub) return static_cast<size_t>(v);
    const int exponent = 63 - std::countl_zero(v);  // >= kSubBits
    const size_t sub = static_cast<size_t>(v >> (exponent - kSubBits)) & (kSub - 1);
    return static_cast<size_t>(exponent - kSubBits + 1) * kSub + sub;
  }

  static uint64_t Midpoint(size_t bucket) noexcept {
    if (bucket < kSub) return bucket;
    const int shift = static_cast<int>(bucket / kSub) - 1;
    const uint64_t lower = (kSub + bucket % kSub) << shift;
    return lower + ((uint64_t{1} << shift) >> 1);
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
};

}  // namespace larder::bench
