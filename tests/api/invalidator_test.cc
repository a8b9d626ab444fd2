// Invalidator: {id} substitution, cascades, batches, dry runs, history, stats, JSON rule files
// and the shipped CRM rule table (examples/crm_rules.json).
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "cache_fixture.h"
#include "larder/cache.h"
#include "larder/invalidator.h"

namespace larder {
namespace {

using testing::ManualCache;
using Keys = std::set<std::string>;

Keys AllKeys(ManualCache& c) {
  Result<std::vector<std::string>> keys = c->Keys("*");
  REQUIRE(keys.ok());
  return Keys(keys->begin(), keys->end());
}

void Fill(ManualCache& c, const Keys& keys) {
  for (const std::string& k : keys) REQUIRE(c->Set(k, "v").ok());
}

Keys Minus(const Keys& a, const Keys& b) {
  Keys out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

// A chain of rules a0 -> a1 -> ... -> a(n-1), each owning the keys "a<i>:*".
void RegisterChain(Invalidator& inv, int n) {
  for (int i = 0; i < n; ++i) {
    InvalidationRule r{.patterns = {"a" + std::to_string(i) + ":*"}};
    if (i + 1 < n) r.related_entities = {"a" + std::to_string(i + 1)};
    REQUIRE(inv.RegisterRule("a" + std::to_string(i), r).ok());
  }
}

// examples/crm_rules.json, found from this file's path. __FILE__ may be relative to the build
// directory, which is an ancestor of the test binary's directory, so those are tried too.
std::string CrmRulesPath() {
  namespace fs = std::filesystem;
  const fs::path rel =
      fs::path(__FILE__).parent_path().parent_path().parent_path() / "examples" / "crm_rules.json";
  if (rel.is_absolute() || fs::exists(rel)) return rel.string();
  std::error_code ec;
  for (fs::path dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
       !ec && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path()) {
    if (fs::exists(dir / rel)) return (dir / rel).lexically_normal().string();
  }
  return rel.string();
}

}  // namespace

TEST_CASE("Invalidator: {id} becomes the id, escaped to match literally") {
  ManualCache c;
  Invalidator inv(*c.cache);
  REQUIRE(inv.RegisterRule("companies",
                           {.patterns = {"companies:{id}", "companies:{id}:*", "literal:\\{id}"}})
              .ok());
  const Keys keys{"companies:42",  "companies:42:projects", "companies:4*2", "companies:4x2",
                  "companies:402", "companies:4*2:deals",   "companies:a?b", "companies:axb",
                  "companies:[x]", "companies:x",           "literal:{id}",  "literal:42"};
  Fill(c, keys);

  Result<InvalidationResult> r = inv.InvalidateOnUpdate("companies", "4*2");
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->patterns ==
        std::vector<std::string>{"companies:4\\*2", "companies:4\\*2:*", "literal:\\{id}"});
  CHECK(r->keys_removed == 3);
  CHECK(AllKeys(c) == Minus(keys, {"companies:4*2", "companies:4*2:deals", "literal:{id}"}));

  r = inv.InvalidateOnUpdate("companies", "a?b");
  REQUIRE(r.ok());
  CHECK(r->keys_removed == 1);
  CHECK(c->Exists("companies:axb"));
  r = inv.InvalidateOnDelete("companies", "[x]");
  REQUIRE(r.ok());
  CHECK(r->keys_removed == 1);
  CHECK(c->Exists("companies:x"));
  r = inv.InvalidateOnCreate("companies", "42");
  REQUIRE(r.ok());
  CHECK(r->keys_removed == 2);
  CHECK(AllKeys(c) ==
        Keys{"companies:4x2", "companies:402", "companies:axb", "companies:x", "literal:42"});
  CHECK(EscapeGlob("a*b?c[d]e\\f") == "a\\*b\\?c\\[d\\]e\\\\f");

  // An empty id is refused rather than turned into a pattern of its own.
  r = inv.InvalidateOnUpdate("companies", "");
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().IsInvalidArgument());
}

TEST_CASE("Invalidator: bad rules are refused at registration, naming entity and pattern") {
  ManualCache c;
  Invalidator inv(*c.cache);
  Status s = inv.RegisterRule("companies", {.patterns = {"companies:*", "companies:[a-"}});
  REQUIRE(s.IsInvalidArgument());
  CHECK(s.message().find("companies") != std::string_view::npos);
  CHECK(s.message().find("'companies:[a-'") != std::string_view::npos);
  CHECK(inv.Entities().empty());

  s = inv.RegisterRule("deals", {.patterns = {"deals:[{id}]"}});
  REQUIRE(s.IsInvalidArgument());
  CHECK(s.message().find("{id} inside a [class]") != std::string_view::npos);
  CHECK(inv.RegisterRule("", {.patterns = {"x:*"}}).IsInvalidArgument());
  CHECK(inv.RegisterRule("x", {.patterns = {"x:*"}, .related_entities = {""}}).IsInvalidArgument());
  CHECK(inv.Entities().empty());
}

TEST_CASE("Invalidator: registration accepts exactly the patterns the cache accepts") {
  ManualCache c;
  Invalidator inv(*c.cache);
  const std::vector<std::string> patterns{
      "a",    "*",       "a*b?c",   "[abc]", "[a-z]x", "[^a]",   "[a-]",  "[\\]]", "[\\-x]",
      "\\*",  "a\\",     "[",       "[]",    "[^]",    "[]]",    "[z-a]", "[a-\\", "[a\\",
      "x[ab", "[a-\\z]", "[b-a-c]", "{id}",  "x{id}y", "\\{id}", "{id"};
  for (const std::string& p : patterns) {
    CAPTURE(p);
    const bool cache_ok = c->Keys(p).ok();
    // {id} is the placeholder: the cache sees it as the escaped id (or a *), always valid.
    const Status s = inv.RegisterRule("e", {.patterns = {p}});
    CHECK(s.ok() == cache_ok);
    if (!s.ok()) CHECK(s.IsInvalidArgument());
  }
}

TEST_CASE("Invalidator: unknown entity is NotFound naming it") {
  ManualCache c;
  Invalidator inv(*c.cache);
  Result<InvalidationResult> r = inv.InvalidateOnUpdate("nosuch", "1");
  REQUIRE(r.status().IsNotFound());
  CHECK(r.status().message().find("'nosuch'") != std::string_view::npos);
  CHECK(inv.InvalidateBatch(InvalidationEvent::kDeleted, "nosuch", {}).status().IsNotFound());
  CHECK(inv.DryRun(InvalidationEvent::kDeleted, "nosuch", {"1"}).status().IsNotFound());
}

TEST_CASE("Invalidator: cascade applies related entities' patterns, {id} widened to *") {
  ManualCache c;
  Invalidator inv(*c.cache);
  REQUIRE(inv.RegisterRule("companies",
                           {.patterns = {"companies:{id}"}, .related_entities = {"projects"}})
              .ok());
  REQUIRE(inv.RegisterRule("projects", {.patterns = {"projects:{id}", "projects:list:*"}}).ok());
  const Keys keys{"companies:42",         "companies:43",     "projects:1", "projects:2",
                  "projects:list:page:1", "projects:1:tasks", "users:1"};
  Fill(c, keys);
  Result<InvalidationResult> r = inv.InvalidateOnUpdate("companies", "42");
  REQUIRE(r.ok());
  CHECK(r->entities == std::vector<std::string>{"companies", "projects"});
  CHECK(r->patterns == std::vector<std::string>{"companies:42", "projects:*", "projects:list:*"});
  CHECK(r->keys_removed == 5);
  CHECK(AllKeys(c) == Keys{"companies:43", "users:1"});
}

TEST_CASE("Invalidator: cycles terminate and each entity applies once per event") {
  ManualCache c;
  Invalidator inv(*c.cache, {.max_cascade_depth = 100});
  // a -> b -> c -> a, and a -> c directly: c is reached at depth 1, not again at depth 2.
  REQUIRE(inv.RegisterRule("a", {.patterns = {"a:*"}, .related_entities = {"b", "c", "a"}}).ok());
  REQUIRE(inv.RegisterRule("b", {.patterns = {"b:*", "shared:*"}, .related_entities = {"c"}}).ok());
  REQUIRE(inv.RegisterRule("c", {.patterns = {"c:*", "shared:*"}, .related_entities = {"a"}}).ok());
  Fill(c, {"a:1", "b:1", "c:1", "shared:1", "d:1"});
  Result<InvalidationResult> r = inv.InvalidateOnDelete("a", "1");
  REQUIRE(r.ok());
  CHECK(r->entities == std::vector<std::string>{"a", "b", "c"});
  CHECK(r->patterns == std::vector<std::string>{"a:*", "b:*", "shared:*", "c:*"});
  CHECK(r->keys_removed == 4);
  CHECK(AllKeys(c) == Keys{"d:1"});
}

TEST_CASE("Invalidator: max_cascade_depth bounds how far a cascade reaches") {
  const Keys keys{"a0:1", "a1:1", "a2:1", "a3:1", "a4:1"};
  const std::vector<std::string> chain{"a0", "a1", "a2", "a3", "a4"};
  for (size_t depth : {size_t{0}, size_t{1}, size_t{2}, size_t{4}, size_t{10}}) {
    CAPTURE(depth);
    ManualCache c;
    Invalidator inv(*c.cache, {.max_cascade_depth = depth});
    RegisterChain(inv, 5);
    Fill(c, keys);
    Result<InvalidationResult> r = inv.InvalidateOnUpdate("a0", "1");
    REQUIRE(r.ok());
    const size_t reached = std::min<size_t>(depth + 1, 5);
    CHECK(r->entities == std::vector<std::string>(chain.begin(), chain.begin() + reached));
    CHECK(r->keys_removed == reached);
    CHECK(AllKeys(c).size() == 5 - reached);
  }
  // The default is one hop: the seed's "related entities".
  ManualCache c;
  Invalidator inv(*c.cache);
  RegisterChain(inv, 5);
  Fill(c, keys);
  REQUIRE(inv.InvalidateOnUpdate("a0", "1").ok());
  CHECK(AllKeys(c) == Keys{"a2:1", "a3:1", "a4:1"});
}

TEST_CASE("Invalidator: a related entity without a rule fails the event before any removal") {
  ManualCache c;
  Invalidator inv(*c.cache, {.max_cascade_depth = 2});
  REQUIRE(inv.RegisterRule("a", {.patterns = {"a:*"}, .related_entities = {"b"}}).ok());
  REQUIRE(inv.RegisterRule("b", {.patterns = {"b:*"}, .related_entities = {"ghost"}}).ok());
  Fill(c, {"a:1", "b:1"});
  Result<InvalidationResult> r = inv.InvalidateOnUpdate("a", "1");
  REQUIRE(r.status().IsNotFound());
  CHECK(r.status().message().find("'ghost'") != std::string_view::npos);
  CHECK(r.status().message().find("'b'") != std::string_view::npos);
  CHECK(AllKeys(c) == Keys{"a:1", "b:1"});
  CHECK(inv.GetHistory().empty());
  CHECK(inv.CheckRules().IsNotFound());
  // Registered later: the rule table is complete and the event goes through.
  REQUIRE(inv.RegisterRule("ghost", {.patterns = {"ghost:*"}}).ok());
  CHECK(inv.CheckRules().ok());
  CHECK(inv.InvalidateOnUpdate("a", "1").ok());
  CHECK(AllKeys(c).empty());
}

TEST_CASE("Invalidator: a batch removes each distinct pattern once, counts each id") {
  ManualCache c;
  Invalidator inv(*c.cache);
  REQUIRE(inv.RegisterRule("items", {.patterns = {"items:{id}", "items:list:*"},
                                     .related_entities = {"carts"}})
              .ok());
  REQUIRE(inv.RegisterRule("carts", {.patterns = {"carts:{id}"}}).ok());
  Fill(c, {"items:1", "items:2", "items:3", "items:4", "items:list:p1", "carts:9", "other"});
  Result<InvalidationResult> r =
      inv.InvalidateBatch(InvalidationEvent::kUpdated, "items", {"1", "2", "3"});
  REQUIRE(r.ok());
  CHECK(r->patterns ==
        std::vector<std::string>{"items:1", "items:2", "items:3", "items:list:*", "carts:*"});
  CHECK(r->keys_removed == 5);
  CHECK(AllKeys(c) == Keys{"items:4", "other"});
  const std::vector<InvalidationRecord> h = inv.GetHistory();
  REQUIRE(h.size() == 1);
  CHECK(h[0].ids == std::vector<std::string>{"1", "2", "3"});
  CHECK(h[0].keys_removed == 5);
  CHECK(inv.GetStats().total == 3);
  // No ids: nothing happens, nothing is recorded.
  r = inv.InvalidateBatch(InvalidationEvent::kUpdated, "items", {});
  REQUIRE(r.ok());
  CHECK(r->patterns.empty());
  CHECK(inv.GetHistory().size() == 1);
  CHECK(inv.InvalidateBatch(InvalidationEvent::kUpdated, "items", {"5", ""})
            .status()
            .IsInvalidArgument());
}

TEST_CASE("Invalidator: a dry run lists exactly the keys the event would remove") {
  ManualCache c;
  Invalidator inv(*c.cache);
  int handler_calls = 0;
  bool handler_saw_dry_run = false;
  REQUIRE(inv.RegisterRule("companies",
                           {.patterns = {"companies:{id}", "companies:list:*"},
                            .related_entities = {"deals"},
                            .custom_handler =
                                [&](const InvalidationContext& ctx) -> Result<InvalidationTargets> {
                              ++handler_calls;
                              handler_saw_dry_run = ctx.dry_run;
                              return InvalidationTargets{
                                  .keys = {"report:" + std::string(ctx.id), "report:absent"}};
                            }})
              .ok());
  REQUIRE(inv.RegisterRule("deals", {.patterns = {"deals:open"}}).ok());
  const Keys keys{"companies:1", "companies:2", "companies:3", "companies:list:a", "deals:open",
                  "deals:9",     "report:1",    "report:3",    "users:1",          "companies:1:x"};
  Fill(c, keys);
  Result<InvalidationResult> dry = inv.DryRun(InvalidationEvent::kDeleted, "companies", {"1", "3"});
  REQUIRE(dry.ok());
  CHECK(handler_saw_dry_run);
  CHECK(handler_calls == 2);
  const Keys expected{"companies:1", "companies:3", "companies:list:a",
                      "deals:open",  "report:1",    "report:3"};
  CHECK(Keys(dry->keys.begin(), dry->keys.end()) == expected);
  CHECK(std::is_sorted(dry->keys.begin(), dry->keys.end()));
  CHECK(dry->keys_removed == expected.size());
  CHECK(AllKeys(c) == keys);  // nothing removed
  CHECK(inv.GetHistory().empty());
  CHECK(inv.GetStats().total == 0);

  // The real event removes exactly those keys.
  Result<InvalidationResult> real =
      inv.InvalidateBatch(InvalidationEvent::kDeleted, "companies", {"1", "3"});
  REQUIRE(real.ok());
  CHECK_FALSE(handler_saw_dry_run);
  CHECK(real->patterns == dry->patterns);
  CHECK(real->keys_removed == expected.size());
  CHECK(AllKeys(c) == Minus(keys, expected));
}

TEST_CASE("Invalidator: custom handlers add targets, run for the event's entity only") {
  ManualCache c;
  Invalidator inv(*c.cache);
  std::vector<std::string> seen;
  REQUIRE(
      inv.RegisterRule(
             "users",
             {.patterns = {"users:{id}"},
              .related_entities = {"teams"},
              .custom_handler = [&](const InvalidationContext& ctx) -> Result<InvalidationTargets> {
                seen.push_back(std::string(InvalidationEventName(ctx.event)) + " " +
                               std::string(ctx.entity) + " " + std::string(ctx.id) + " " +
                               std::string(ctx.data));
                if (ctx.data == "fail") return Status::Unavailable("directory down");
                if (ctx.data == "throw") throw std::runtime_error("boom");
                if (ctx.data == "bad") return InvalidationTargets{.patterns = {"x["}};
                return InvalidationTargets{.patterns = {"user:" + EscapeGlob(ctx.id) + ":*"},
                                           .keys = {"profile-of-" + std::string(ctx.id)}};
              }})
          .ok());
  int team_handler_calls = 0;
  REQUIRE(inv.RegisterRule(
                 "teams",
                 {.patterns = {"teams:*"},
                  .custom_handler = [&](const InvalidationContext&) -> Result<InvalidationTargets> {
                    ++team_handler_calls;
                    return InvalidationTargets{};
                  }})
              .ok());
  const Keys keys{"users:7",        "users:8",      "user:7:profile", "user:7:api",
                  "user:8:profile", "profile-of-7", "teams:1"};
  Fill(c, keys);

  for (const char* data : {"fail", "throw", "bad"}) {
    CAPTURE(data);
    Result<InvalidationResult> r = inv.InvalidateOnUpdate("users", "7", data);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().message().find("'users'") != std::string_view::npos);
    CHECK(AllKeys(c) == keys);  // nothing removed
  }
  CHECK(inv.InvalidateOnUpdate("users", "7", "fail").status().IsUnavailable());
  CHECK(inv.InvalidateOnUpdate("users", "7", "throw").status().IsInternal());
  CHECK(inv.InvalidateOnUpdate("users", "7", "bad").status().IsInvalidArgument());
  CHECK(inv.GetHistory().empty());

  seen.clear();
  Result<InvalidationResult> r = inv.InvalidateOnCreate("users", "7", R"({"name":"Ana"})");
  REQUIRE(r.ok());
  CHECK(seen == std::vector<std::string>{R"(created users 7 {"name":"Ana"})"});
  CHECK(r->patterns == std::vector<std::string>{"users:7", "teams:*", "user:7:*"});
  CHECK(r->keys_removed == 5);
  CHECK(AllKeys(c) == Keys{"users:8", "user:8:profile"});
  CHECK(team_handler_calls == 0);
}

TEST_CASE("Invalidator: history is bounded and newest first") {
  ManualCache c;
  Invalidator inv(*c.cache, {.clock = c.clock, .history_capacity = 3});
  REQUIRE(inv.RegisterRule("e", {.patterns = {"e:{id}"}}).ok());
  Fill(c, {"e:1", "e:2", "e:3", "e:4", "e:5"});
  const InvalidationEvent events[] = {InvalidationEvent::kCreated, InvalidationEvent::kUpdated,
                                      InvalidationEvent::kDeleted, InvalidationEvent::kUpdated,
                                      InvalidationEvent::kDeleted};
  for (int i = 1; i <= 5; ++i) {
    REQUIRE(inv.Invalidate(events[i - 1], "e", std::to_string(i)).ok());
    c.clock->Advance(std::chrono::seconds(10));
  }
  std::vector<InvalidationRecord> h = inv.GetHistory();
  REQUIRE(h.size() == 3);
  CHECK(h[0].ids == std::vector<std::string>{"5"});
  CHECK(h[1].ids == std::vector<std::string>{"4"});
  CHECK(h[2].ids == std::vector<std::string>{"3"});
  CHECK(h[0].event == InvalidationEvent::kDeleted);
  CHECK(h[1].event == InvalidationEvent::kUpdated);
  CHECK(h[0].entity == "e");
  CHECK(h[0].patterns == std::vector<std::string>{"e:5"});
  CHECK(h[0].keys_removed == 1);
  CHECK(h[0].time_nanos == std::chrono::nanoseconds(std::chrono::seconds(40)).count());
  CHECK(h[2].time_nanos == std::chrono::nanoseconds(std::chrono::seconds(20)).count());
  CHECK(h[0].wall_millis == c.clock->ToWallMillis(h[0].time_nanos));
  h = inv.GetHistory(2);
  REQUIRE(h.size() == 2);
  CHECK(h[0].ids == std::vector<std::string>{"5"});
  CHECK(h[1].ids == std::vector<std::string>{"4"});
  CHECK(inv.GetHistory(0).empty());

  Invalidator none(*c.cache, {.history_capacity = 0});
  REQUIRE(none.RegisterRule("e", {.patterns = {"e:{id}"}}).ok());
  REQUIRE(none.InvalidateOnUpdate("e", "1").ok());
  CHECK(none.GetHistory().empty());
  CHECK(none.GetStats().total == 1);
}

TEST_CASE("Invalidator: stats count by event and entity; the last hour slides") {
  ManualCache c;
  Invalidator inv(*c.cache, {.clock = c.clock});
  REQUIRE(inv.RegisterRule("companies", {.patterns = {"companies:{id}"}}).ok());
  REQUIRE(inv.RegisterRule("users", {.patterns = {"users:{id}"}}).ok());
  Fill(c, {"companies:1", "users:1", "users:2"});
  REQUIRE(inv.InvalidateOnCreate("companies", "1").ok());  // t = 0
  REQUIRE(inv.InvalidateOnUpdate("users", "1").ok());
  c.clock->Advance(std::chrono::minutes(30));
  REQUIRE(inv.InvalidateBatch(InvalidationEvent::kDeleted, "users", {"2", "3", "4"}).ok());
  REQUIRE(inv.DryRun(InvalidationEvent::kDeleted, "users", {"5"}).ok());  // not counted
  CHECK_FALSE(inv.InvalidateOnUpdate("nosuch", "1").ok());                // not counted

  InvalidatorStats s = inv.GetStats();
  CHECK(s.total == 5);
  CHECK(s.by_event[static_cast<size_t>(InvalidationEvent::kCreated)] == 1);
  CHECK(s.by_event[static_cast<size_t>(InvalidationEvent::kUpdated)] == 1);
  CHECK(s.by_event[static_cast<size_t>(InvalidationEvent::kDeleted)] == 3);
  CHECK(s.by_entity ==
        std::map<std::string, uint64_t, std::less<>>{{"companies", 1}, {"users", 4}});
  CHECK(s.keys_removed == 3);
  CHECK(s.last_hour == 5);

  c.clock->Advance(std::chrono::minutes(29) + std::chrono::seconds(59));  // t = 59:59
  CHECK(inv.GetStats().last_hour == 5);
  c.clock->Advance(std::chrono::seconds(1));  // t = 1:00:00: the first two are an hour old
  s = inv.GetStats();
  CHECK(s.last_hour == 3);
  CHECK(s.total == 5);
  c.clock->Advance(std::chrono::minutes(30));  // t = 1:30:00
  CHECK(inv.GetStats().last_hour == 0);
  REQUIRE(inv.InvalidateOnUpdate("users", "9").ok());
  s = inv.GetStats();
  CHECK(s.last_hour == 1);
  CHECK(s.total == 6);
  c.clock->Advance(std::chrono::hours(5));  // buckets are reused, old counts never leak back
  REQUIRE(inv.InvalidateOnUpdate("users", "9").ok());
  CHECK(inv.GetStats().last_hour == 1);
  CHECK(InvalidationEventName(InvalidationEvent::kDeleted) == "deleted");
}

TEST_CASE("Invalidator: rules load from JSON, related entities resolved across the file") {
  ManualCache c;
  Invalidator inv(*c.cache);
  REQUIRE(inv.RegisterRule("users", {.patterns = {"users:{id}"}}).ok());
  Result<size_t> n = inv.LoadRulesFromJson(R"({
    "description": "test rules",
    "rules": {
      "companies": {"patterns": ["companies:{id}", "companies:list:*"],
                    "related": ["projects", "users"], "description": "firms"},
      "projects": {"patterns": ["projects:*"]}
    }
  })");
  REQUIRE_MESSAGE(n.ok(), n.status().ToString());
  CHECK(*n == 2);
  CHECK(inv.Entities() == std::vector<std::string>{"companies", "projects", "users"});
  Fill(c, {"companies:1", "companies:2", "companies:list:x", "projects:5", "users:3"});
  Result<InvalidationResult> r = inv.InvalidateOnUpdate("companies", "1");
  REQUIRE(r.ok());
  CHECK(r->entities == std::vector<std::string>{"companies", "projects", "users"});
  CHECK(AllKeys(c) == Keys{"companies:2"});
}

TEST_CASE("Invalidator: malformed rule files are refused whole, naming source and entity") {
  struct Case {
    const char* json;
    const char* expected;  // a fragment of the message
  };
  const Case cases[] = {
      {R"({"rules": {"a": {"patterns": ["a:*"]}})", "not JSON"},
      {"", "not JSON"},
      {R"(["a"])", "expected a JSON object"},
      {R"({"rulez": {}})", "unknown member \"rulez\""},
      {R"({"description": "x"})", "missing \"rules\""},
      {R"({"rules": []})", "\"rules\" must be an object"},
      {R"({"rules": {"a": ["a:*"]}})", "rule 'a': must be an object"},
      {R"({"rules": {"a": {"related": []}}})", "rule 'a': missing \"patterns\""},
      {R"({"rules": {"a": {"patterns": "a:*"}}})", "rule 'a': \"patterns\" must be an array"},
      {R"({"rules": {"a": {"patterns": ["a:*", 7]}}})", "rule 'a': \"patterns\"[1] must be a"},
      {R"({"rules": {"a": {"patterns": [], "related": "b"}}})", "rule 'a': \"related\" must be"},
      {R"({"rules": {"a": {"patterns": [], "relatedEntities": []}}})",
       "rule 'a': unknown member \"relatedEntities\""},
      {R"({"rules": {"a": {"patterns": [], "description": 1}}})", "\"description\" must be"},
      {R"({"rules": {"a": {"patterns": ["a:["]}}})", "rule 'a': pattern 'a:[': unterminated ["},
      {R"({"rules": {"a": {"patterns": ["a:*"], "related": ["ghost"]}}})",
       "rule 'a': related entity 'ghost' has no rule"},
      {R"({"rules": {"a": {"patterns": []}, "a": {"patterns": []}}})", "rule 'a': entity given"},
      {R"({"rules": {"": {"patterns": []}}})", "empty entity name"},
      {R"({"rules": {"a": {"patterns": []}}} [])", "not JSON"},
      {R"({"rules": {"a": {"patterns": []}}} {"b": 1})", "not JSON: content after the top"},
  };
  for (const Case& tc : cases) {
    CAPTURE(tc.json);
    ManualCache c;
    Invalidator inv(*c.cache);
    REQUIRE(inv.RegisterRule("kept", {.patterns = {"kept:*"}}).ok());
    Result<size_t> n = inv.LoadRulesFromJson(tc.json, "rules.json");
    REQUIRE_FALSE(n.ok());
    CHECK(n.status().IsInvalidArgument());
    const std::string msg(n.status().message());
    CAPTURE(msg);
    CHECK(msg.rfind("rules.json: ", 0) == 0);
    CHECK(msg.find(tc.expected) != std::string::npos);
    CHECK(inv.Entities() == std::vector<std::string>{"kept"});
  }

  // A good rule before a bad one is not applied either; nor is a replacement of a known rule.
  ManualCache c;
  Invalidator inv(*c.cache);
  REQUIRE(inv.RegisterRule("a", {.patterns = {"old:*"}}).ok());
  REQUIRE_FALSE(inv.LoadRulesFromJson(R"({"rules": {"a": {"patterns": ["new:*"]},
                                                    "b": {"patterns": ["b:["]}}})")
                    .ok());
  CHECK(inv.Entities() == std::vector<std::string>{"a"});
  Fill(c, {"old:1", "new:1"});
  REQUIRE(inv.InvalidateOnUpdate("a", "1").ok());
  CHECK(AllKeys(c) == Keys{"new:1"});
}

TEST_CASE("Invalidator: LoadRulesFromFile names the file in its errors") {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("larder_invalidator_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path bad = dir / "bad_rules.json";
  std::ofstream(bad) << R"({"rules": {"deals": {"patterns": [1]}}})";
  ManualCache c;
  Invalidator inv(*c.cache);
  Result<size_t> n = inv.LoadRulesFromFile(bad.string());
  REQUIRE(n.status().IsInvalidArgument());
  CHECK(n.status().message() == bad.string() + ": rule 'deals': \"patterns\"[0] must be a string");
  n = inv.LoadRulesFromFile((dir / "missing.json").string());
  REQUIRE(n.status().IsNotFound());
  CHECK(n.status().message().find("missing.json") != std::string_view::npos);
  CHECK(inv.LoadRulesFromFile(dir.string()).status().code() == Status::Code::kIOError);
  fs::remove_all(dir);
}

namespace {

// The seed's key scheme: "<entity>:<id>", "<entity>:list:<query>", a few aggregates, and
// per-project task and milestone lists; plus keys no rule owns.
const Keys kCrmKeys{"companies:42",
                    "companies:7",
                    "companies:list:page:1",
                    "companies:list:page:2",
                    "companies:industries",
                    "projects:100",
                    "projects:101",
                    "projects:list:page:1",
                    "projects:active",
                    "projects:stats",
                    "projects:100:tasks",
                    "projects:100:milestones",
                    "tasks:500",
                    "tasks:list:page:1",
                    "milestones:900",
                    "milestones:list:page:1",
                    "users:1",
                    "users:list:page:1",
                    "users:active",
                    "deals:300",
                    "deals:list:page:1",
                    "deals:open",
                    "deals:stats",
                    "quotes:700",
                    "quotes:list:page:1",
                    "contacts:200",
                    "contacts:list:page:1",
                    "leads:800",
                    "leads:list:page:1",
                    "leads:recent",
                    "session:abc123",
                    "permissions:user:1",
                    "user:123:profile",
                    "user:123:api",
                    "expensive:computation",
                    "process:invoice:123"};

Keys WithPrefixes(std::initializer_list<std::string_view> prefixes) {
  Keys out;
  for (const std::string& k : kCrmKeys) {
    for (std::string_view p : prefixes) {
      if (k.rfind(p, 0) == 0) out.insert(k);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("Invalidator: the CRM rule table removes exactly what it implies") {
  const std::string path = CrmRulesPath();
  CAPTURE(path);
  SUBCASE("a company update: its rule and its related entities' (one hop)") {
    ManualCache c;
    Invalidator inv(*c.cache);
    Result<size_t> n = inv.LoadRulesFromFile(path);
    REQUIRE_MESSAGE(n.ok(), n.status().ToString());
    CHECK(*n == 11);
    CHECK(inv.CheckRules().ok());
    Fill(c, kCrmKeys);
    Result<InvalidationResult> r = inv.InvalidateOnUpdate("companies", "42");
    REQUIRE(r.ok());
    CHECK(r->entities == std::vector<std::string>{"companies", "projects", "contacts", "deals"});
    CHECK(r->patterns ==
          std::vector<std::string>{"companies:*", "companies:list:*", "companies:industries",
                                   "projects:*", "projects:list:*", "projects:active",
                                   "projects:stats", "contacts:*", "contacts:list:*", "deals:*",
                                   "deals:list:*", "deals:open", "deals:stats"});
    const Keys removed = WithPrefixes({"companies:", "projects:", "contacts:", "deals:"});
    CHECK(removed.size() == 18);
    CHECK(r->keys_removed == removed.size());
    CHECK(AllKeys(c) == Minus(kCrmKeys, removed));
  }
  SUBCASE("a company delete with an unbounded cascade: every CRM entity reachable from it") {
    ManualCache c;
    Invalidator inv(*c.cache, {.max_cascade_depth = 64});
    REQUIRE(inv.LoadRulesFromFile(path).ok());
    Fill(c, kCrmKeys);
    Result<InvalidationResult> r = inv.InvalidateOnDelete("companies", "42");
    REQUIRE(r.ok());
    CHECK(r->entities == std::vector<std::string>{"companies", "projects", "contacts", "deals",
                                                  "tasks", "milestones", "leads", "quotes"});
    const Keys removed = WithPrefixes({"companies:", "projects:", "contacts:", "deals:", "tasks:",
                                       "milestones:", "leads:", "quotes:"});
    CHECK(r->keys_removed == removed.size());
    CHECK(AllKeys(c) == Keys{"users:1", "users:list:page:1", "users:active", "session:abc123",
                             "permissions:user:1", "user:123:profile", "user:123:api",
                             "expensive:computation", "process:invoice:123"});
  }
  SUBCASE("a task update reaches its project lists, not other entities") {
    ManualCache c;
    Invalidator inv(*c.cache);
    REQUIRE(inv.LoadRulesFromFile(path).ok());
    Fill(c, kCrmKeys);
    Result<InvalidationResult> dry = inv.DryRun(InvalidationEvent::kUpdated, "tasks", {"500"});
    REQUIRE(dry.ok());
    const Keys removed = WithPrefixes({"tasks:", "projects:"});
    CHECK(Keys(dry->keys.begin(), dry->keys.end()) == removed);
    CHECK(AllKeys(c) == kCrmKeys);
    REQUIRE(inv.InvalidateOnUpdate("tasks", "500").ok());
    CHECK(AllKeys(c) == Minus(kCrmKeys, removed));
  }
  SUBCASE("a user update: users, sessions and permissions") {
    ManualCache c;
    Invalidator inv(*c.cache);
    REQUIRE(inv.LoadRulesFromFile(path).ok());
    Fill(c, kCrmKeys);
    REQUIRE(inv.InvalidateOnUpdate("users", "1").ok());
    CHECK(AllKeys(c) == Minus(kCrmKeys, WithPrefixes({"users:", "session:", "permissions:"})));
  }
}

}  // namespace larder
