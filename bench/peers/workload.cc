// The peer benchmark workload: key set, scrambled Zipf generator, op streams.
#include "workload.h"

#include <charconv>
#include <cmath>
#include <random>
#include <string>

namespace larder::bench {
namespace {

// Writes `n` as exactly `width` zero-padded decimal digits at `out`.
void WriteDigits(uint64_t n, size_t width, char* out) {
  for (size_t i = width; i-- > 0;) {
    out[i] = static_cast<char>('0' + n % 10);
    n /= 10;
  }
}

uint64_t Fnv1a64(uint64_t v) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 8; ++i) {
    hash ^= v & 0xff;
    hash *= 0x100000001b3ULL;
    v >>= 8;
  }
  return hash;
}

double Uniform(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;  // 53 random bits in [0, 1)
}

}  // namespace

KeySet::KeySet(size_t count) : keys_(count), values_(count) {
  for (size_t i = 0; i < count; ++i) {
    keys_[i].bytes[0] = 'k';
    WriteDigits(i, kKeySize - 1, keys_[i].bytes.data() + 1);
    values_[i].bytes[0] = 'v';
    WriteDigits((i * 2654435761ULL) % 1'000'000'000'000'000ULL, kValueSize - 1,
                values_[i].bytes.data() + 1);
  }
}

std::vector<Mix> DefaultMixes() {
  return {{"100/0", 100}, {"95/5", 95}, {"50/50", 50}, {"0/100", 0}};
}

std::optional<Mix> ParseMix(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  int reads = -1;
  int writes = -1;
  const std::string_view r = text.substr(0, slash);
  const std::string_view w = text.substr(slash + 1);
  if (std::from_chars(r.data(), r.data() + r.size(), reads).ptr != r.data() + r.size() ||
      std::from_chars(w.data(), w.data() + w.size(), writes).ptr != w.data() + w.size()) {
    return std::nullopt;
  }
  if (reads < 0 || writes < 0 || reads + writes != 100) return std::nullopt;
  return Mix{std::string(text), reads};
}

ScrambledZipf::ScrambledZipf(uint64_t n, double theta) : n_(n) {
  double zeta = 0;
  for (uint64_t i = 1; i <= n; ++i) zeta += 1.0 / std::pow(static_cast<double>(i), theta);
  zeta_n_ = zeta;
  const double zeta2 = 1.0 + std::pow(0.5, theta);
  alpha_ = 1.0 / (1.0 - theta);
  eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zeta_n_);
  half_pow_theta_ = zeta2;
}

uint64_t ScrambledZipf::Next(double u) const {
  const double uz = u * zeta_n_;
  uint64_t rank;
  if (uz < 1.0) {
    rank = 0;
  } else if (uz < half_pow_theta_) {
    rank = 1;
  } else {
    rank = static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    if (rank >= n_) rank = n_ - 1;
  }
  return Fnv1a64(rank) % n_;
}

std::vector<uint32_t> MakeKeyStream(const ScrambledZipf& zipf, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint32_t> keys(kStreamLength);
  for (uint32_t& k : keys) k = static_cast<uint32_t>(zipf.Next(Uniform(rng)));
  return keys;
}

std::vector<uint8_t> MakeWriteFlags(int read_percent, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> writes(kStreamLength);
  for (uint8_t& w : writes) w = static_cast<int>(rng() % 100) >= read_percent ? 1 : 0;
  return writes;
}

}  // namespace larder::bench
