// Tags: the compact encoding an entry stores its tags in, and TagIndex, one shard's map from a
// tag to the entries carrying it (InvalidateByTag visits only those).
//
// Encoding (immutable once written, readable without a lock): for each tag, one length byte
// (1..255) then the tag's bytes; tags sorted and unique.
//
// Thread safety: EncodeTags and ForEachTag are pure. TagIndex has none: the owner serializes
// every call (the shard lock).
#pragma once

#include "base/private.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "larder/status.h"

namespace larder::index {

// Checks `tags` (count, each size) and writes their encoding to *out; duplicates count once.
// InvalidArgument names the offending tag's index and the limit.
Status EncodeTags(const std::vector<std::string>& tags, std::string* out);
// The same over views (for example tags read back from a snapshot).
Status EncodeTagViews(const std::vector<std::string_view>& tags, std::string* out);

// Calls fn(std::string_view tag) for each tag in an encoding made by EncodeTags.
template <typename Fn>
void ForEachTag(std::string_view encoded, Fn&& fn) {
  size_t i = 0;
  while (i < encoded.size()) {
    const size_t n = static_cast<uint8_t>(encoded[i]);
    fn(encoded.substr(i + 1, n));
    i += 1 + n;
  }
}

// How many tags an encoding holds.
inline size_t CountTags(std::string_view encoded) noexcept {
  size_t n = 0;
  ForEachTag(encoded, [&](std::string_view) { ++n; });
  return n;
}

class TagIndex {
 public:
  void Add(std::string_view tag, uint32_t id);
  void Remove(std::string_view tag, uint32_t id);
  // Appends the entries tagged `tag` to *out.
  void Collect(std::string_view tag, std::vector<uint32_t>* out) const;
  size_t tag_count() const noexcept { return members_.size(); }
  void Clear() { members_.clear(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, std::unordered_set<uint32_t>, Hash, std::equal_to<>> members_;
};

}  // namespace larder::index
