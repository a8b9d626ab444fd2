// PrefixIndex and the tag encoding / TagIndex: order, prefix visits, replacement, removal.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "index/prefix_index.h"
#include "index/tag_index.h"

namespace larder::index {
namespace {

std::vector<std::string> Under(const PrefixIndex& idx, std::string_view prefix) {
  std::vector<std::string> out;
  idx.ForEachWithPrefix(prefix, [&](std::string_view k, uint32_t) { out.emplace_back(k); });
  return out;
}

}  // namespace

TEST_CASE("PrefixIndex: visits exactly the keys under a prefix, in order") {
  std::vector<std::string> keys = {"companies:list:2", "companies:1",  "companies:list:1",
                                   "companies:list",   "companiez:1",  "c",
                                   "companies:list:\xff", "users:1",   "companies:list:10"};
  PrefixIndex idx;
  std::vector<PrefixIndex::Handle> handles;
  for (uint32_t i = 0; i < keys.size(); ++i) handles.push_back(idx.Insert(keys[i], i));
  CHECK(idx.size() == keys.size());
  CHECK(Under(idx, "companies:list:") ==
        std::vector<std::string>{"companies:list:1", "companies:list:10", "companies:list:2",
                                 "companies:list:\xff"});
  CHECK(Under(idx, "companies:list").size() == 5);
  CHECK(Under(idx, "zzz").empty());
  CHECK(Under(idx, "").size() == keys.size());
  idx.Erase(handles[8]);  // companies:list:10
  CHECK(Under(idx, "companies:list:") ==
        std::vector<std::string>{"companies:list:1", "companies:list:2", "companies:list:\xff"});
}

TEST_CASE("PrefixIndex: a replacement re-points the key at the new copy and id") {
  PrefixIndex idx;
  std::string first = "k:1";
  std::string second = "k:1";  // the same bytes in new storage, as a rewritten entry has
  const PrefixIndex::Handle h = idx.Insert(first, 7);
  PrefixIndex::Replace(h, second, 9);
  first = "zz:";  // the old storage is reused for something else
  uint32_t seen = 0;
  std::string seen_key;
  idx.ForEachWithPrefix("k:", [&](std::string_view k, uint32_t id) {
    seen = id;
    seen_key = std::string(k);
  });
  CHECK(seen == 9);
  CHECK(seen_key == "k:1");
  CHECK(Under(idx, "zz").empty());
}

TEST_CASE("PrefixIndex: random inserts and erases agree with an ordered map") {
  std::mt19937 rng(11);
  PrefixIndex idx;
  std::map<std::string, PrefixIndex::Handle> oracle;  // keys are node-stable: views stay valid
  for (uint32_t i = 0; i < 20000; ++i) {
    // Long shared beginnings exercise the comparison past the 16 bytes kept in nodes, and
    // zero bytes the padding of short keys.
    std::string key = (rng() % 2 ? "a-long-common-prefix:" : std::string("p\0", 2)) +
                      std::to_string(rng() % 7) + ":" + std::to_string(rng() % 500);
    auto it = oracle.find(key);
    if (rng() % 3 == 0) {
      if (it != oracle.end()) {
        idx.Erase(it->second);
        oracle.erase(it);
      }
    } else if (it == oracle.end()) {
      it = oracle.emplace(key, PrefixIndex::Handle{}).first;
      it->second = idx.Insert(it->first, i);
    }
  }
  CHECK(idx.size() == oracle.size());
  for (const std::string& prefix :
       {std::string("p\0003:", 4), std::string("p\0", 2), std::string("p"), std::string(""),
        std::string("a-long-common-prefix:3:1"), std::string("a-long-common-prefix:")}) {
    std::vector<std::string> expected;
    for (const auto& [k, id] : oracle) {
      if (k.starts_with(prefix)) expected.push_back(k);
    }
    CHECK(Under(idx, prefix) == expected);
  }
}

TEST_CASE("Tags: encoding sorts, removes duplicates and refuses bad tags") {
  std::string enc;
  REQUIRE(EncodeTags({"b", "a", "b", "company:42"}, &enc).ok());
  std::vector<std::string> back;
  ForEachTag(enc, [&](std::string_view t) { back.emplace_back(t); });
  CHECK(back == std::vector<std::string>{"a", "b", "company:42"});
  Status s = EncodeTags({"ok", ""}, &enc);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("tags[1]") != std::string::npos);
  s = EncodeTags({std::string(256, 'x')}, &enc);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("256 bytes") != std::string::npos);
  REQUIRE(EncodeTags({std::string(255, 'x')}, &enc).ok());
  std::vector<std::string> many(65, "t");
  s = EncodeTags(many, &enc);
  CHECK(s.IsInvalidArgument());
  CHECK(s.message().find("65 tags") != std::string::npos);
}

TEST_CASE("TagIndex: members per tag, removal drops empty tags") {
  TagIndex idx;
  idx.Add("a", 1);
  idx.Add("a", 2);
  idx.Add("b", 2);
  std::vector<uint32_t> out;
  idx.Collect("a", &out);
  std::sort(out.begin(), out.end());
  CHECK(out == std::vector<uint32_t>{1, 2});
  idx.Remove("a", 1);
  idx.Remove("a", 2);
  CHECK(idx.tag_count() == 1);
  out.clear();
  idx.Collect("a", &out);
  CHECK(out.empty());
  idx.Remove("nope", 3);
  CHECK(idx.tag_count() == 1);
}

}  // namespace larder::index
