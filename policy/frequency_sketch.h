// FrequencySketch: approximate access counts of recently seen keys, for TinyLFU admission.
//
// A count-min sketch of 4-bit counters in four rows, with the four counters of a key inside one
// 64-byte block (one cache miss per update), fronted by a doorkeeper: a key's first occurrence in
// a sample only sets doorkeeper bits, so one-hit wonders never reach the counters. Every
// `sample_size` recorded occurrences all counters are halved and the doorkeeper is cleared
// (aging), so the sketch follows a changing popularity. Updates are conservative: only the
// smallest of a key's counters grow, which keeps collisions from inflating counts.
// After Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"
// (ACM ToS 2017); the block layout follows Caffeine's design notes.
//
// Memory: at most 2 bytes per expected entry (counters) plus half a byte (doorkeeper), at least
// 5 KiB.
//
// Thread safety: none.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <memory>

namespace larder {

class FrequencySketch {
 public:
  static constexpr int kMaxCount = 15;

  // Sizes the sketch for `entries`: counters for a power of two at or below it (at least 2048),
  // aging every 10 x entries rounded up to a power of two (at least 64) occurrences. Forgets
  // counts when it grows; a no-op when already at least that large.
  void EnsureCapacity(uint64_t entries);
  bool allocated() const noexcept { return words_ != nullptr; }

  // Records one occurrence of `hash`. No-op before EnsureCapacity.
  void Increment(uint32_t hash) noexcept;
  // Estimated occurrences of `hash` in the current sample (at most kMaxCount + 1).
  int Frequency(uint32_t hash) const noexcept;
  // Starts loading the memory Frequency(hash) and Increment(hash) read (to overlap misses).
  void Prefetch(uint32_t hash) const noexcept {
    if (words_ == nullptr) return;
    const uint64_t x = Spread(hash);
    __builtin_prefetch(words_.get() + ((x >> 40) & (word_mask_ >> 3)) * 8);
    __builtin_prefetch(door_.get() + (((x >> 32) & door_mask_) >> 6));
  }

  // Occurrences recorded since the last aging, and the period that triggers aging.
  uint64_t sample_count() const noexcept { return sample_count_; }
  uint64_t sample_size() const noexcept { return sample_size_; }
  uint64_t resets() const noexcept { return resets_; }
  uint64_t bytes() const noexcept { return (word_mask_ + 1) * 8 + (door_mask_ + 1) / 8; }

 private:
  struct Probe {
    uint64_t* word[4];
    int shift[4];
  };
  static uint64_t Spread(uint32_t hash) noexcept {
    uint64_t x = (uint64_t{hash} | (uint64_t{hash} << 32)) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 29);
  }
  Probe Locate(uint64_t x) const noexcept;
  // Tests and sets the key's doorkeeper bits; true when all were already set.
  bool DoorkeeperAdmit(uint64_t x) noexcept;
  bool DoorkeeperContains(uint64_t x) const noexcept;
  void Age() noexcept;

  std::unique_ptr<uint64_t[]> words_;
  uint64_t word_mask_ = 0;  // words - 1; blocks of 8 words
  std::unique_ptr<uint64_t[]> door_;
  uint64_t door_mask_ = 0;  // bits - 1
  uint64_t sample_count_ = 0;
  uint64_t sample_size_ = 0;
  uint64_t resets_ = 0;
};

}  // namespace larder
