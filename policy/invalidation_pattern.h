// Invalidation patterns: glob syntax checks and `{id}` templates for the Invalidator.
//
// Syntax is checked by the cache's own glob compiler (index/glob.h), so a rule accepts exactly
// the patterns Cache::InvalidatePattern does.
//
// Thread safety: a PatternTemplate is immutable after Parse.
#pragma once

#include "base/private.h"

#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::invalidation {

// OK when Cache::InvalidatePattern would accept `pattern`; else InvalidArgument
// "pattern '<p>': <what> at position <n>".
Status CheckGlob(std::string_view pattern);

// A glob pattern with `{id}` placeholders (outside [classes]; `\{id}` is literal text).
class PatternTemplate {
 public:
  // InvalidArgument as CheckGlob, or for `{id}` inside a [class].
  static Result<PatternTemplate> Parse(std::string_view text);

  // The pattern for one id: each `{id}` becomes the id with its glob metacharacters escaped.
  std::string Expand(std::string_view id) const;
  // The pattern for any id: each `{id}` becomes `*`.
  std::string ExpandAny() const;
  const std::string& text() const noexcept { return text_; }

 private:
  std::string Join(std::string_view filler) const;

  std::string text_;
  std::vector<std::string> pieces_;  // the text between placeholders: placeholders + 1 pieces
};

}  // namespace larder::invalidation
