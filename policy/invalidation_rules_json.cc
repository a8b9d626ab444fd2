// Reading invalidation rule files with simdjson's On-Demand API (docs/decisions/0008).
#include "policy/invalidation_rules_json.h"

#include <set>

#include <fmt/format.h>
#include <simdjson.h>

namespace larder::invalidation {
namespace {

namespace od = simdjson::ondemand;

Status NotJson(simdjson::error_code err) {
  return Status::InvalidArgument(fmt::format("not JSON: {}", simdjson::error_message(err)));
}

// A type mismatch is the file's shape being wrong; any other error is the text not being JSON.
Status TypeError(simdjson::error_code err, std::string_view expectation) {
  if (err == simdjson::INCORRECT_TYPE) return Status::InvalidArgument(expectation);
  return NotJson(err);
}

Status ReadStrings(od::value value, std::string_view name, std::vector<std::string>* out) {
  od::array array;
  if (auto err = value.get_array().get(array)) {
    return TypeError(err, fmt::format("\"{}\" must be an array of strings", name));
  }
  size_t i = 0;
  for (auto element : array) {
    std::string_view s;
    if (auto err = element.get_string().get(s)) {
      return TypeError(err, fmt::format("\"{}\"[{}] must be a string", name, i));
    }
    out->emplace_back(s);
    ++i;
  }
  return Status::OK();
}

Status ReadDescription(od::value value) {
  std::string_view s;
  if (auto err = value.get_string().get(s)) {
    return TypeError(err, "\"description\" must be a string");
  }
  return Status::OK();
}

Status ReadRule(od::value value, ParsedRule* rule) {
  od::object object;
  if (auto err = value.get_object().get(object)) {
    return TypeError(err, "must be an object with \"patterns\" and optional \"related\"");
  }
  bool saw_patterns = false;
  bool saw_related = false;
  for (auto member : object) {
    std::string_view key;
    if (auto err = member.unescaped_key().get(key)) return NotJson(err);
    od::value v;
    if (auto err = member.value().get(v)) return NotJson(err);
    Status s;
    if (key == "patterns" && !saw_patterns) {
      saw_patterns = true;
      s = ReadStrings(v, "patterns", &rule->patterns);
    } else if (key == "related" && !saw_related) {
      saw_related = true;
      s = ReadStrings(v, "related", &rule->related);
    } else if (key == "description") {
      s = ReadDescription(v);
    } else if (key == "patterns" || key == "related") {
      s = Status::InvalidArgument(fmt::format("\"{}\" given twice", key));
    } else {
      s = Status::InvalidArgument(fmt::format(
          "unknown member \"{}\" (expected \"patterns\", \"related\", \"description\")", key));
    }
    if (!s.ok()) return s;
  }
  if (!saw_patterns) return Status::InvalidArgument("missing \"patterns\"");
  return Status::OK();
}

Status ReadRules(od::value value, std::vector<ParsedRule>* out) {
  od::object object;
  if (auto err = value.get_object().get(object)) {
    return TypeError(err, "\"rules\" must be an object mapping entity names to rules");
  }
  std::set<std::string, std::less<>> seen;
  for (auto member : object) {
    std::string_view key;
    if (auto err = member.unescaped_key().get(key)) return NotJson(err);
    ParsedRule rule;
    rule.entity = std::string(key);  // the key's view is reused by the parser: copy it first
    if (rule.entity.empty()) return Status::InvalidArgument("rule with an empty entity name");
    const auto context = fmt::format("rule '{}'", rule.entity);
    if (!seen.insert(rule.entity).second) {
      return Status::InvalidArgument(fmt::format("{}: entity given twice", context));
    }
    od::value v;
    if (auto err = member.value().get(v)) return NotJson(err).WithContext(context);
    Status s = ReadRule(v, &rule);
    if (!s.ok()) return s.WithContext(context);
    out->push_back(std::move(rule));
  }
  return Status::OK();
}

}  // namespace

Result<std::vector<ParsedRule>> ParseRulesJson(std::string_view text) {
  simdjson::padded_string padded(text);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) return NotJson(err);
  od::object top;
  if (auto err = doc.get_object().get(top)) {
    return TypeError(err, "expected a JSON object with a \"rules\" member");
  }
  std::vector<ParsedRule> rules;
  bool saw_rules = false;
  for (auto member : top) {
    std::string_view key;
    if (auto err = member.unescaped_key().get(key)) return NotJson(err);
    od::value v;
    if (auto err = member.value().get(v)) return NotJson(err);
    Status s;
    if (key == "rules" && !saw_rules) {
      saw_rules = true;
      s = ReadRules(v, &rules);
    } else if (key == "description") {
      s = ReadDescription(v);
    } else if (key == "rules") {
      s = Status::InvalidArgument("\"rules\" given twice");
    } else {
      s = Status::InvalidArgument(
          fmt::format("unknown member \"{}\" (expected \"rules\", \"description\")", key));
    }
    if (!s.ok()) return s;
  }
  if (!saw_rules) return Status::InvalidArgument("missing \"rules\"");
  // simdjson 3.0 has no document::at_end(): past the last token, current_location() is
  // OUT_OF_BOUNDS.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return Status::InvalidArgument("not JSON: content after the top object");
  }
  return rules;
}

}  // namespace larder::invalidation
