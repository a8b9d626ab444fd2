// The peer benchmark workload: 16-byte keys and values, scrambled Zipf key streams, op mixes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace larder::bench {

// The pre-filled key space and its skew.
inline constexpr size_t kKeyCount = 1'000'000;
inline constexpr double kZipfTheta = 0.99;
inline constexpr size_t kKeySize = 16;
inline constexpr size_t kValueSize = 16;
// Each thread replays its own precomputed stream of this many ops, wrapping around.
inline constexpr size_t kStreamLength = size_t{1} << 22;

// A fixed-size key, as the in-process peers store it (they get plain 16-byte PODs, not strings).
struct Key16 {
  std::array<char, kKeySize> bytes;
  std::string_view view() const { return {bytes.data(), bytes.size()}; }
  friend bool operator==(const Key16& a, const Key16& b) = default;
};

struct Value16 {
  std::array<char, kValueSize> bytes;
  std::string_view view() const { return {bytes.data(), bytes.size()}; }
};

// The pre-filled key space: key i is "k" + i in 15 zero-padded digits; its initial value is
// derived from i. Stored contiguously so building a key costs nothing in the timed loop.
class KeySet {
 public:
  explicit KeySet(size_t count);

  size_t size() const { return keys_.size(); }
  const Key16& key(size_t i) const { return keys_[i]; }
  const Value16& value(size_t i) const { return values_[i]; }

 private:
  std::vector<Key16> keys_;
  std::vector<Value16> values_;
};

// The value a write stores: the key's initial value with its first 8 bytes replaced by `seq`,
// so every write changes the stored bytes.
inline Value16 UpdatedValue(const Value16& initial, uint64_t seq) {
  Value16 v = initial;
  std::memcpy(v.bytes.data(), &seq, sizeof(seq));
  return v;
}

// Read share of an op mix, written "reads/writes" in percent ("95/5").
struct Mix {
  std::string name;
  int read_percent = 100;
};

// The mixes the suite runs by default, in report order.
std::vector<Mix> DefaultMixes();
// Parses "R/W" with R + W = 100; nullopt otherwise.
std::optional<Mix> ParseMix(std::string_view text);

// YCSB's scrambled Zipfian: draw a Zipf(theta) rank over n items, then spread the popular ranks
// over the key space by hashing the rank (FNV-1a 64) modulo n.
class ScrambledZipf {
 public:
  ScrambledZipf(uint64_t n, double theta);
  // Maps a uniform draw u in [0, 1) to a key index in [0, n).
  uint64_t Next(double u) const;

 private:
  uint64_t n_;
  double alpha_;
  double zeta_n_;
  double eta_;
  double half_pow_theta_;  // 1 + 0.5^theta: the upper bound of rank 1 in zeta units
};

// A view of one thread's precomputed op stream: key indices and which ops are writes, both
// kStreamLength long, so the timed loop does no random-number work.
struct OpStream {
  std::span<const uint32_t> keys;
  std::span<const uint8_t> writes;  // 1 = write, 0 = read
};

// Draws kStreamLength key indices from `zipf`, seeded by `seed`.
std::vector<uint32_t> MakeKeyStream(const ScrambledZipf& zipf, uint64_t seed);
// kStreamLength op kinds, each a write with probability (100 - read_percent) / 100.
std::vector<uint8_t> MakeWriteFlags(int read_percent, uint64_t seed);

}  // namespace larder::bench
