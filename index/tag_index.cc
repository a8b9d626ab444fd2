// Tag encoding and the per-shard tag index.
#include "index/tag_index.h"

#include <algorithm>

#include <fmt/format.h>

#include "larder/cache.h"

namespace larder::index {

Status EncodeTagViews(const std::vector<std::string_view>& tags, std::string* out) {
  if (tags.size() > kMaxTags) {
    return Status::InvalidArgument(
        fmt::format("tags: {} tags exceed the limit of {} per entry", tags.size(), kMaxTags));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    if (tags[i].empty()) return Status::InvalidArgument(fmt::format("tags[{}]: empty tag", i));
    if (tags[i].size() > kMaxTagSize) {
      return Status::InvalidArgument(fmt::format("tags[{}]: {} bytes exceed the limit of {}", i,
                                                 tags[i].size(), kMaxTagSize));
    }
  }
  std::vector<std::string_view> sorted(tags);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  out->clear();
  for (std::string_view t : sorted) {
    out->push_back(static_cast<char>(static_cast<uint8_t>(t.size())));
    out->append(t);
  }
  return Status::OK();
}

Status EncodeTags(const std::vector<std::string>& tags, std::string* out) {
  std::vector<std::string_view> views(tags.begin(), tags.end());
  return EncodeTagViews(views, out);
}

void TagIndex::Add(std::string_view tag, uint32_t id) {
  auto it = members_.find(tag);
  if (it == members_.end()) it = members_.emplace(std::string(tag), std::unordered_set<uint32_t>{}).first;
  it->second.insert(id);
}

void TagIndex::Remove(std::string_view tag, uint32_t id) {
  auto it = members_.find(tag);
  if (it == members_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) members_.erase(it);  // no trail of dead tags
}

void TagIndex::Collect(std::string_view tag, std::vector<uint32_t>* out) const {
  auto it = members_.find(tag);
  if (it == members_.end()) return;
  out->insert(out->end(), it->second.begin(), it->second.end());
}

}  // namespace larder::index
