// ReadBuffer: a lossy record of recent reads, handed to the eviction policy later.
//
// Readers append the slot word of the entry they hit with two plain stores and no locked
// instruction; racing readers may overwrite each other's records, which only loses recency
// information. Each shard has a few buffers striped by thread, so two cores rarely write the
// same line. The shard drains buffers under its lock.
//
// Invariant (what makes a record safe to follow): every non-zero slot names an entry whose memory
// has not been reclaimed. Readers write records inside their epoch read section, and before a
// shard frees retired entries it Sweep()s its buffers, clearing every slot, after the grace
// period that covers those readers.
#pragma once

#include "base/private.h"

#include <atomic>
#include <cstdint>

namespace larder {

class alignas(64) ReadBuffer {
 public:
  static constexpr uint32_t kSlots = 16;

  // Records `slot_value`; returns true when the buffer has wrapped and wants a drain.
  bool Record(uint64_t slot_value) noexcept {
    const uint32_t c = cursor_.load(std::memory_order_relaxed);
    slots_[c & (kSlots - 1)].store(slot_value, std::memory_order_relaxed);
    cursor_.store(c + 1, std::memory_order_release);
    return (c & (kSlots - 1)) == kSlots - 1;
  }

  // Calls fn(slot_value) for records written since the last drain (at most kSlots, possibly a
  // stale or duplicate one). REQUIRES: the shard lock.
  template <typename Fn>
  void Drain(Fn&& fn) noexcept {
    const uint32_t c = cursor_.load(std::memory_order_acquire);
    if (c == drained_) return;
    const uint32_t n = c - drained_ > kSlots ? kSlots : c - drained_;
    for (uint32_t i = c - n; i != c; ++i) {
      const uint64_t v = slots_[i & (kSlots - 1)].load(std::memory_order_relaxed);
      if (v != 0) fn(v);
    }
    drained_ = c;
  }

  // Like Drain (records not yet drained reach fn), then clears every slot, so that no record
  // names an entry any more. REQUIRES: the shard lock.
  template <typename Fn>
  void Sweep(Fn&& fn) noexcept {
    Drain(fn);
    for (auto& s : slots_) {
      if (s.load(std::memory_order_relaxed) != 0) s.store(0, std::memory_order_relaxed);
    }
  }

 private:
  std::atomic<uint32_t> cursor_{0};
  uint32_t drained_ = 0;  // shard lock
  std::atomic<uint64_t> slots_[kSlots] = {};
};

}  // namespace larder
