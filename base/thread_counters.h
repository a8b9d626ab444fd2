// ThreadCounters: statistics counters that many threads bump without sharing a cache line.
//
// Each live thread (by epoch::ThreadOrdinal) owns one cache-line stripe and updates it with a
// plain load and store, no locked instruction. Threads beyond kOwnedStripes share one stripe
// with atomic adds. Reset keeps a baseline instead of zeroing, so it never races an owner's
// store.
#pragma once

#include "base/private.h"

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/epoch.h"

namespace larder {

template <size_t N>
class ThreadCounters {
 public:
  static_assert(N <= 8, "one cache line per stripe");
  static constexpr size_t kOwnedStripes = 64;

  void Add(size_t counter, uint64_t n = 1) noexcept { Add(epoch::ThreadOrdinal(), counter, n); }
  // For callers that already know their ordinal (epoch::Enter returns the thread's record).
  void Add(uint32_t ordinal, size_t counter, uint64_t n) noexcept {
    if (ordinal < kOwnedStripes) {
      std::atomic<uint64_t>& c = stripes_[ordinal].v[counter];
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      stripes_[kOwnedStripes].v[counter].fetch_add(n, std::memory_order_relaxed);
    }
  }

  uint64_t Sum(size_t counter) const noexcept {
    return Total(counter) - baseline_[counter].load(std::memory_order_relaxed);
  }

  void Reset() noexcept {
    for (size_t i = 0; i < N; ++i) baseline_[i].store(Total(i), std::memory_order_relaxed);
  }

 private:
  struct alignas(64) Stripe {
    std::array<std::atomic<uint64_t>, N> v{};
  };
  uint64_t Total(size_t counter) const noexcept {
    uint64_t sum = 0;
    for (const Stripe& s : stripes_) sum += s.v[counter].load(std::memory_order_relaxed);
    return sum;
  }

  std::array<Stripe, kOwnedStripes + 1> stripes_{};
  std::array<std::atomic<uint64_t>, N> baseline_{};
};

}  // namespace larder
