// Reading invalidation rule files (JSON, shape in docs/invalidation-rules.md) into plain rules.
// Checks the shape and types only; glob syntax and related entities are checked by the caller.
#pragma once

#include "base/private.h"

#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::invalidation {

struct ParsedRule {
  std::string entity;
  std::vector<std::string> patterns;
  std::vector<std::string> related;
};

// The rules of `text`, in file order. InvalidArgument naming the entity (when there is one) and
// what is wrong: not JSON, missing "rules" or "patterns", an unknown member, a wrong type, an
// empty or duplicate entity name, trailing content.
Result<std::vector<ParsedRule>> ParseRulesJson(std::string_view text);

}  // namespace larder::invalidation
