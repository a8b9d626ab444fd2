// Invalidation patterns: glob syntax checks and `{id}` templates.
#include "policy/invalidation_pattern.h"

#include <cstdint>

#include <fmt/format.h>

#include "index/glob.h"
#include "larder/invalidator.h"

namespace larder {

std::string EscapeGlob(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

namespace invalidation {
namespace {

constexpr std::string_view kPlaceholder = "{id}";

// Appends the positions of the `{id}` placeholders of `p` to *holes: those outside escapes and
// [classes]. InvalidArgument for one inside a class. Leaves every other check to the glob
// compiler (to which `{id}` is four literal bytes).
Status FindHoles(std::string_view p, std::vector<size_t>* holes) {
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\') {
      ++i;  // the escaped byte is literal
    } else if (p.substr(i, kPlaceholder.size()) == kPlaceholder) {
      if (in_class) {
        return Status::InvalidArgument(
            fmt::format("pattern '{}': {{id}} inside a [class] at position {}", p, i));
      }
      holes->push_back(i);
      i += kPlaceholder.size() - 1;
    } else if (c == '[' && !in_class) {
      in_class = true;
      if (i + 1 < p.size() && p[i + 1] == '^') ++i;
    } else if (c == ']' && in_class) {
      in_class = false;
    }
  }
  return Status::OK();
}

}  // namespace

Status CheckGlob(std::string_view pattern) {
  return index::GlobPattern::Compile(pattern).status();
}

Result<PatternTemplate> PatternTemplate::Parse(std::string_view text) {
  Status s = CheckGlob(text);
  if (!s.ok()) return s;
  std::vector<size_t> holes;
  s = FindHoles(text, &holes);
  if (!s.ok()) return s;
  PatternTemplate t;
  t.text_ = std::string(text);
  size_t from = 0;
  for (size_t at : holes) {
    t.pieces_.emplace_back(text.substr(from, at - from));
    from = at + kPlaceholder.size();
  }
  t.pieces_.emplace_back(text.substr(from));
  return t;
}

std::string PatternTemplate::Join(std::string_view filler) const {
  std::string out = pieces_.front();
  for (size_t i = 1; i < pieces_.size(); ++i) {
    out.append(filler);
    out.append(pieces_[i]);
  }
  return out;
}

std::string PatternTemplate::Expand(std::string_view id) const {
  if (pieces_.size() == 1) return pieces_.front();
  return Join(EscapeGlob(id));
}

std::string PatternTemplate::ExpandAny() const { return Join("*"); }

}  // namespace invalidation
}  // namespace larder
