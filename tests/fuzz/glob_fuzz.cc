// Fuzzes GlobPattern against a dynamic-programming oracle of the same syntax: input is
// "pattern\0key". Every accepted pattern must agree with the oracle on the key; a refused pattern
// must be malformed for the oracle too.
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "index/glob.h"

namespace {

// Parses one token at p[i]; returns false when malformed. Sets *set (256 bits) and advances *i.
bool Token(std::string_view p, size_t* i, bool* star, std::vector<bool>* set) {
  set->assign(256, false);
  *star = false;
  const char c = p[*i];
  if (c == '*') {
    *star = true;
    ++*i;
    return true;
  }
  if (c == '?') {
    set->assign(256, true);
    ++*i;
    return true;
  }
  if (c == '\\') {
    if (*i + 1 >= p.size()) return false;
    (*set)[static_cast<uint8_t>(p[*i + 1])] = true;
    *i += 2;
    return true;
  }
  if (c != '[') {
    (*set)[static_cast<uint8_t>(c)] = true;
    ++*i;
    return true;
  }
  size_t j = *i + 1;
  bool neg = false;
  if (j < p.size() && p[j] == '^') {
    neg = true;
    ++j;
  }
  bool any = false;
  for (;;) {
    if (j >= p.size()) return false;
    if (p[j] == ']') break;
    uint8_t lo = static_cast<uint8_t>(p[j]);
    if (p[j] == '\\') {
      if (++j >= p.size()) return false;
      lo = static_cast<uint8_t>(p[j]);
    }
    uint8_t hi = lo;
    if (j + 2 < p.size() && p[j + 1] == '-' && p[j + 2] != ']') {
      j += 2;
      if (p[j] == '\\' && ++j >= p.size()) return false;
      hi = static_cast<uint8_t>(p[j]);
      if (hi < lo) return false;
    }
    for (unsigned b = lo; b <= hi; ++b) (*set)[b] = true;
    any = true;
    ++j;
  }
  if (!any) return false;
  if (neg) {
    for (size_t b = 0; b < 256; ++b) (*set)[b] = !(*set)[b];
  }
  *i = j + 1;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t cut = in.find('\0');
  if (cut == std::string_view::npos) return 0;
  const std::string_view pattern = in.substr(0, cut), key = in.substr(cut + 1);
  if (pattern.size() > 64 || key.size() > 256) return 0;
  // Oracle: tokens, then DP over (token, key position).
  std::vector<bool> stars;
  std::vector<std::vector<bool>> sets;
  bool ok = true;
  for (size_t i = 0; i < pattern.size();) {
    bool star;
    std::vector<bool> set;
    if (!Token(pattern, &i, &star, &set)) {
      ok = false;
      break;
    }
    stars.push_back(star);
    sets.push_back(std::move(set));
  }
  auto g = larder::index::GlobPattern::Compile(pattern);
  if (g.ok() != ok) std::abort();
  if (!ok) return 0;
  const size_t n = stars.size(), m = key.size();
  // dp[t][k]: tokens t.. match key k..
  std::vector<std::vector<char>> dp(n + 1, std::vector<char>(m + 1, 0));
  dp[n][m] = 1;
  for (size_t t = n; t-- > 0;) {
    for (size_t k = m + 1; k-- > 0;) {
      if (stars[t]) {
        dp[t][k] = dp[t + 1][k] || (k < m && dp[t][k + 1]);
      } else {
        dp[t][k] = k < m && sets[t][static_cast<uint8_t>(key[k])] && dp[t + 1][k + 1];
      }
    }
  }
  if (static_cast<bool>(dp[0][0]) != g->Match(key)) std::abort();
  return 0;
}
