// GlobPattern: Redis glob syntax (KEYS / SCAN MATCH), compiled once, matched without backtracking.
//
//   *        any run of bytes, including none
//   ?        any one byte
//   [abc]    one byte of the set; ranges [a-z]; [^abc] negates; \ escapes inside too
//   \x       the byte x itself
//
// Matching cost is O(key length x pattern length) at worst, whatever the pattern: the pattern
// splits at its stars into segments, the first anchored at the start, the last at the end, and
// each middle one taken at its leftmost fit (a star absorbs whatever lies between, so the leftmost
// fit never loses a match). Redis's own matcher backtracks, and patterns such as `*a*a*a*a*b`
// make it exponential.
//
// Unlike Redis, malformed patterns are errors rather than guesses: an unterminated `[`, an empty
// class `[]`, a reversed range `[z-a]` or a trailing `\` are refused, naming the position.
//
// Thread safety: a compiled pattern is immutable; Match may run on any thread.
#pragma once

#include "base/private.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::index {

class GlobPattern {
 public:
  static Result<GlobPattern> Compile(std::string_view pattern);

  bool Match(std::string_view key) const noexcept;
  // The bytes every match starts with (up to the first wildcard or class): a prefix index visits
  // only the keys under it.
  const std::string& literal_prefix() const noexcept { return prefix_; }
  // True when the pattern has no wildcard at all (it matches one key: the prefix).
  bool exact() const noexcept { return exact_; }
  // True when the pattern is its literal prefix then `*`: it matches exactly the keys that start
  // with the prefix.
  bool prefix_only() const noexcept { return prefix_only_; }
  const std::string& text() const noexcept { return text_; }

 private:
  struct Token {
    enum Kind : uint8_t { kByte, kAny, kClass } kind;
    uint8_t byte = 0;
    uint32_t cls = 0;  // index into classes_
  };
  using Segment = std::vector<Token>;

  bool TokenMatches(const Token& t, uint8_t c) const noexcept {
    switch (t.kind) {
      case Token::kByte: return c == t.byte;
      case Token::kAny: return true;
      case Token::kClass: return (classes_[t.cls][c >> 6] >> (c & 63)) & 1;
    }
    return false;
  }
  bool SegmentAt(const Segment& s, std::string_view key, size_t at) const noexcept;

  std::string text_;
  std::string prefix_;
  bool exact_ = false;
  bool prefix_only_ = false;
  bool leading_star_ = false;   // the pattern starts with *
  bool trailing_star_ = false;  // the pattern ends with *
  std::vector<Segment> segments_;  // the pieces between stars, in order
  std::vector<std::array<uint64_t, 4>> classes_;
};

}  // namespace larder::index
