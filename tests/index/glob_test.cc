// GlobPattern: Redis glob syntax, literal prefixes, malformed patterns, no backtracking blow-up.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "index/glob.h"

namespace larder::index {
namespace {

bool M(std::string_view pattern, std::string_view key) {
  Result<GlobPattern> g = GlobPattern::Compile(pattern);
  REQUIRE_MESSAGE(g.ok(), g.status().ToString());
  return g->Match(key);
}

}  // namespace

TEST_CASE("Glob: stars, question marks and literals") {
  CHECK(M("companies:list:*", "companies:list:"));
  CHECK(M("companies:list:*", "companies:list:page=2"));
  CHECK_FALSE(M("companies:list:*", "companies:lis"));
  CHECK_FALSE(M("companies:list:*", "xcompanies:list:1"));
  CHECK(M("*", ""));
  CHECK(M("*", "anything"));
  CHECK(M("**", "a"));
  CHECK(M("a*b", "ab"));
  CHECK(M("a*b", "axxxb"));
  CHECK_FALSE(M("a*b", "axxxbc"));
  CHECK(M("*:42", "user:42"));
  CHECK_FALSE(M("*:42", "user:421"));
  CHECK(M("h?llo", "hello"));
  CHECK_FALSE(M("h?llo", "hllo"));
  CHECK(M("a*b*c", "abc"));
  CHECK(M("a*b*c", "a-b-b-c"));
  CHECK_FALSE(M("a*b*c", "a-c-b"));
  CHECK(M("ab*ba", "aba") == false);  // head and tail may not overlap
  CHECK(M("ab*ba", "abba"));
  CHECK(M("", ""));
  CHECK_FALSE(M("", "a"));
  CHECK(M("exact", "exact"));
  CHECK_FALSE(M("exact", "exactly"));
}

TEST_CASE("Glob: classes, ranges, negation and escapes") {
  CHECK(M("h[ae]llo", "hello"));
  CHECK(M("h[ae]llo", "hallo"));
  CHECK_FALSE(M("h[ae]llo", "hillo"));
  CHECK(M("h[^e]llo", "hallo"));
  CHECK_FALSE(M("h[^e]llo", "hello"));
  CHECK(M("h[a-c]llo", "hbllo"));
  CHECK_FALSE(M("h[a-c]llo", "hdllo"));
  CHECK(M("[a-]x", "-x"));  // a dash before ] is literal
  CHECK(M("[\\]]x", "]x"));
  CHECK(M("a\\*b", "a*b"));
  CHECK_FALSE(M("a\\*b", "axb"));
  CHECK(M("\\?", "?"));
  CHECK(M("v[0-9][0-9]", "v42"));
  CHECK(M("*[!]", "hey!"));
}

TEST_CASE("Glob: the literal prefix stops at the first wildcard or class") {
  auto prefix = [](std::string_view p) { return GlobPattern::Compile(p)->literal_prefix(); };
  CHECK(prefix("companies:list:*") == "companies:list:");
  CHECK(prefix("user:?:x") == "user:");
  CHECK(prefix("user:[ab]*") == "user:");
  CHECK(prefix("a\\*b*") == "a*b");
  CHECK(prefix("*x") == "");
  CHECK(GlobPattern::Compile("plain")->exact());
  CHECK(GlobPattern::Compile("plain")->literal_prefix() == "plain");
  CHECK_FALSE(GlobPattern::Compile("plain*")->exact());
}

TEST_CASE("Glob: a literal prefix then stars matches by prefix alone") {
  auto only = [](std::string_view p) { return GlobPattern::Compile(p)->prefix_only(); };
  CHECK(only("companies:list:*"));
  CHECK(only("a\\*b**"));
  CHECK(only("a\\*b*"));
  CHECK_FALSE(only("*"));
  CHECK_FALSE(only("a*b"));
  CHECK_FALSE(only("a?*"));
  CHECK_FALSE(only("a[bc]*"));
  CHECK_FALSE(only("a*b*"));
  CHECK_FALSE(only("plain"));
  CHECK(M("a\\*b**", "a*b"));
  CHECK(M("a\\*b*", "a*bcd"));
  CHECK_FALSE(M("a\\*b*", "axbcd"));
  CHECK_FALSE(M("companies:list:*", "companies:lis"));
}

TEST_CASE("Glob: malformed patterns are refused with the position") {
  for (const char* bad : {"a[bc", "x[]", "[z-a]", "abc\\", "[^"}) {
    CAPTURE(bad);
    Result<GlobPattern> g = GlobPattern::Compile(bad);
    REQUIRE_FALSE(g.ok());
    CHECK(g.status().IsInvalidArgument());
    CHECK(g.status().message().find("position") != std::string_view::npos);
    CHECK(g.status().message().find(bad) != std::string_view::npos);
  }
}

TEST_CASE("Glob: no backtracking blow-up") {
  // A backtracking matcher takes exponential time here; this one scans a few thousand bytes.
  std::string pattern;
  for (int i = 0; i < 30; ++i) pattern += "*a";
  pattern += "*b";
  const std::string key(5000, 'a');
  Result<GlobPattern> g = GlobPattern::Compile(pattern);
  REQUIRE(g.ok());
  CHECK_FALSE(g->Match(key));
  CHECK(g->Match(key + "b"));
}

}  // namespace larder::index
