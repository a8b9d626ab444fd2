// FrequencySketch: layout, conservative update, aging.
#include "policy/frequency_sketch.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace larder {

void FrequencySketch::EnsureCapacity(uint64_t entries) {
  const uint64_t n = std::bit_ceil(std::max<uint64_t>(entries, 64));
  // Counters: a power of two at or below the entries (memory stays under 2.5 bytes per entry);
  // small sketches collide too much to rank keys, so at least 2048 entries' worth (5 KiB).
  const uint64_t table = std::bit_floor(std::max<uint64_t>(entries, 2048));
  // A quarter word (4 counters, one per row) per entry: with the doorkeeper absorbing one-hit
  // wonders, half or full words per entry gave no consistent gain on the shared traces.
  const uint64_t words = table / 4;
  if (words_ != nullptr && words <= word_mask_ + 1) return;
  words_ = std::make_unique<uint64_t[]>(words);  // value-initialized: zero
  word_mask_ = words - 1;
  const uint64_t door_bits = table * 4;
  door_ = std::make_unique<uint64_t[]>(door_bits / 64);
  door_mask_ = door_bits - 1;
  // Aging period: ten times the entries, as in the TinyLFU paper's W = 10 x C.
  sample_size_ = 10 * n;
  sample_count_ = 0;
}

FrequencySketch::Probe FrequencySketch::Locate(uint64_t x) const noexcept {
  Probe p;
  const uint64_t block = (x >> 40) & (word_mask_ >> 3);
  uint64_t* base = words_.get() + block * 8;
  for (int i = 0; i < 4; ++i) {
    const uint64_t bits = x >> (i * 8);
    p.word[i] = base + i * 2 + (bits & 1);
    p.shift[i] = static_cast<int>((bits >> 1) & 15) * 4;
  }
  return p;
}

bool FrequencySketch::DoorkeeperAdmit(uint64_t x) noexcept {
  const uint64_t a = (x >> 32) & door_mask_;
  const uint64_t b = ((x >> 32) * 0x2545F4914F6CDD1Dull >> 20) & door_mask_;
  const uint64_t ma = uint64_t{1} << (a & 63), mb = uint64_t{1} << (b & 63);
  uint64_t& wa = door_[a >> 6];
  uint64_t& wb = door_[b >> 6];
  const bool present = (wa & ma) && (wb & mb);
  wa |= ma;
  wb |= mb;
  return present;
}

bool FrequencySketch::DoorkeeperContains(uint64_t x) const noexcept {
  const uint64_t a = (x >> 32) & door_mask_;
  const uint64_t b = ((x >> 32) * 0x2545F4914F6CDD1Dull >> 20) & door_mask_;
  return (door_[a >> 6] >> (a & 63) & 1) && (door_[b >> 6] >> (b & 63) & 1);
}

void FrequencySketch::Increment(uint32_t hash) noexcept {
  if (words_ == nullptr) return;
  const uint64_t x = Spread(hash);
  if (++sample_count_ >= sample_size_) Age();
  if (!DoorkeeperAdmit(x)) return;
  const Probe p = Locate(x);
  int v[4];
  int low = kMaxCount;
  for (int i = 0; i < 4; ++i) {
    v[i] = static_cast<int>((*p.word[i] >> p.shift[i]) & 15);
    low = std::min(low, v[i]);
  }
  if (low == kMaxCount) return;
  for (int i = 0; i < 4; ++i) {
    if (v[i] == low) *p.word[i] += uint64_t{1} << p.shift[i];
  }
}

int FrequencySketch::Frequency(uint32_t hash) const noexcept {
  if (words_ == nullptr) return 0;
  const uint64_t x = Spread(hash);
  const Probe p = Locate(x);
  int low = kMaxCount;
  for (int i = 0; i < 4; ++i) low = std::min(low, static_cast<int>((*p.word[i] >> p.shift[i]) & 15));
  return low + (DoorkeeperContains(x) ? 1 : 0);
}

void FrequencySketch::Age() noexcept {
  for (uint64_t i = 0; i <= word_mask_; ++i) words_[i] = (words_[i] >> 1) & 0x7777777777777777ull;
  std::memset(door_.get(), 0, (door_mask_ + 1) / 8);
  sample_count_ /= 2;
  ++resets_;
}

}  // namespace larder
