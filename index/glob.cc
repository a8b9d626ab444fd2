// GlobPattern: compiling and matching.
#include "index/glob.h"

#include <fmt/format.h>

namespace larder::index {
namespace {

Status Bad(std::string_view pattern, size_t at, std::string_view what) {
  return Status::InvalidArgument(
      fmt::format("pattern '{}': {} at position {}", pattern, what, at));
}

}  // namespace

Result<GlobPattern> GlobPattern::Compile(std::string_view pattern) {
  GlobPattern g;
  g.text_ = std::string(pattern);
  Segment current;
  bool prefix_open = true;  // still inside the leading run of literal bytes
  bool any_wild = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    Token t{Token::kByte};
    if (c == '*') {
      any_wild = true;
      prefix_open = false;
      if (i == 0) g.leading_star_ = true;
      // Consecutive stars are one star; an empty segment between stars is dropped.
      if (!current.empty() || g.segments_.empty()) g.segments_.push_back(std::move(current));
      current.clear();
      if (i + 1 == pattern.size()) g.trailing_star_ = true;
      continue;
    }
    if (c == '?') {
      t.kind = Token::kAny;
      any_wild = true;
      prefix_open = false;
    } else if (c == '[') {
      const size_t open = i;
      std::array<uint64_t, 4> bits{};
      bool negate = false;
      ++i;
      if (i < pattern.size() && pattern[i] == '^') {
        negate = true;
        ++i;
      }
      bool closed = false;
      bool empty = true;
      while (i < pattern.size()) {
        uint8_t lo = static_cast<uint8_t>(pattern[i]);
        if (lo == ']') {
          closed = true;
          break;
        }
        if (lo == '\\') {
          if (++i == pattern.size()) break;
          lo = static_cast<uint8_t>(pattern[i]);
        }
        uint8_t hi = lo;
        if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
          i += 2;
          if (pattern[i] == '\\') {
            if (++i == pattern.size()) break;
          }
          hi = static_cast<uint8_t>(pattern[i]);
          if (hi < lo) return Bad(pattern, open, "reversed range in class");
        }
        for (unsigned b = lo; b <= hi; ++b) bits[b >> 6] |= uint64_t{1} << (b & 63);
        empty = false;
        ++i;
      }
      if (!closed) return Bad(pattern, open, "unterminated [");
      if (empty) return Bad(pattern, open, "empty class []");
      if (negate) {
        for (uint64_t& w : bits) w = ~w;
      }
      t.kind = Token::kClass;
      t.cls = static_cast<uint32_t>(g.classes_.size());
      g.classes_.push_back(bits);
      any_wild = true;
      prefix_open = false;
    } else if (c == '\\') {
      if (i + 1 == pattern.size()) return Bad(pattern, i, "trailing escape \\");
      t.byte = static_cast<uint8_t>(pattern[++i]);
      if (prefix_open) g.prefix_.push_back(static_cast<char>(t.byte));
    } else {
      t.byte = static_cast<uint8_t>(c);
      if (prefix_open) g.prefix_.push_back(c);
    }
    current.push_back(t);
  }
  if (!current.empty() || g.segments_.empty() || g.trailing_star_) {
    g.segments_.push_back(std::move(current));
  }
  g.exact_ = !any_wild;
  // "literal*" (stars after the literal collapse into one): every key under the prefix matches.
  g.prefix_only_ = g.trailing_star_ && !g.leading_star_ && g.segments_.size() == 2 &&
                   g.segments_.front().size() == g.prefix_.size() && g.segments_.back().empty();
  return g;
}

bool GlobPattern::SegmentAt(const Segment& s, std::string_view key, size_t at) const noexcept {
  if (at + s.size() > key.size()) return false;
  for (size_t j = 0; j < s.size(); ++j) {
    if (!TokenMatches(s[j], static_cast<uint8_t>(key[at + j]))) return false;
  }
  return true;
}

bool GlobPattern::Match(std::string_view key) const noexcept {
  if (prefix_only_) return key.starts_with(prefix_);
  // No star: one segment, the whole key.
  if (segments_.size() == 1 && !leading_star_ && !trailing_star_) {
    return segments_[0].size() == key.size() && SegmentAt(segments_[0], key, 0);
  }
  // segments_: [head, middle..., tail]; head is empty when the pattern starts with a star, tail
  // empty when it ends with one.
  const Segment& head = segments_.front();
  const Segment& tail = segments_.back();
  if (head.size() + tail.size() > key.size()) return false;
  if (!SegmentAt(head, key, 0)) return false;
  const size_t tail_at = key.size() - tail.size();
  if (!SegmentAt(tail, key, tail_at)) return false;
  size_t pos = head.size();
  for (size_t s = 1; s + 1 < segments_.size(); ++s) {
    const Segment& seg = segments_[s];
    bool found = false;
    for (; pos + seg.size() <= tail_at; ++pos) {
      if (SegmentAt(seg, key, pos)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
    pos += seg.size();
  }
  return true;
}

}  // namespace larder::index
