// FingerprintSet: a set of byte strings kept as 64-bit seeded hashes in one flat array, for
// "was this key seen?" over millions of keys without a node or a string per key.
//
// Membership is by fingerprint: a key never inserted is reported present only if its hash
// equals an inserted key's, which for n keys happens with probability about n / 2^64 per query.
// Callers pick a fresh seed per use, so a rare collision never repeats.
// Not thread-safe.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <string_view>
#include <vector>

#include <xxhash.h>

namespace larder::internal {

class FingerprintSet {
 public:
  explicit FingerprintSet(uint64_t seed) : seed_(seed), slots_(1024, 0) {}

  // Returns false when the key (or one with the same fingerprint) was there already.
  bool Insert(std::string_view key) {
    if ((size_ + 1) * 4 > slots_.size() * 3) Grow();
    if (!Place(&slots_, Fingerprint(key))) return false;
    ++size_;
    return true;
  }
  bool Contains(std::string_view key) const {
    const uint64_t f = Fingerprint(key);
    const size_t mask = slots_.size() - 1;
    for (size_t i = f & mask;; i = (i + 1) & mask) {
      if (slots_[i] == f) return true;
      if (slots_[i] == 0) return false;
    }
  }
  size_t size() const noexcept { return size_; }

 private:
  uint64_t Fingerprint(std::string_view key) const {
    return XXH3_64bits_withSeed(key.data(), key.size(), seed_) | 1;  // 0 marks an empty slot
  }
  // Returns false when already present. REQUIRES: a free slot.
  static bool Place(std::vector<uint64_t>* slots, uint64_t f) {
    const size_t mask = slots->size() - 1;
    for (size_t i = f & mask;; i = (i + 1) & mask) {
      uint64_t& s = (*slots)[i];
      if (s == f) return false;
      if (s == 0) {
        s = f;
        return true;
      }
    }
  }
  void Grow() {
    std::vector<uint64_t> bigger(slots_.size() * 2, 0);
    for (uint64_t f : slots_) {
      if (f != 0) Place(&bigger, f);
    }
    slots_.swap(bigger);
  }

  uint64_t seed_;
  std::vector<uint64_t> slots_;  // power-of-two size, at most 3/4 full
  size_t size_ = 0;
};

}  // namespace larder::internal
