// Batches: a few thousand snapshot entries encoded column by column in one FlatBuffer
// (snapshot.fbs, table Batch) inside a checksummed envelope (envelope.h).
//
// BatchWriter accumulates entries and produces the stored bytes; BatchReader checks stored bytes
// completely (checksum, FlatBuffer structure, column lengths and offsets) before handing out
// views, so any input either fails with Corruption or reads safely. Not thread-safe.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::fb {
struct Batch;
}

namespace larder::snapshot {

// One entry; views into the caller's memory (writing) or into the batch (reading).
struct EntryData {
  std::string_view key{};
  std::string_view value{};
  int64_t expires_at_ms = 0;   // wall-clock epoch ms; 0 = never
  int64_t stale_until_ms = 0;  // 0 = no stale window
  int64_t sliding_ttl_ns = 0;  // 0 = fixed deadline
  uint64_t version = 0;        // 0 = unversioned
};

class BatchWriter {
 public:
  // Appends an entry (copied). REQUIRES: key and value shorter than 4 GiB together with the
  // batch's earlier entries (callers flush at a few MiB).
  void Add(const EntryData& e, std::span<const std::string_view> tags = {});
  size_t size() const noexcept { return key_ends_.size(); }
  bool empty() const noexcept { return key_ends_.empty(); }
  // Key and value bytes added so far.
  size_t payload_bytes() const noexcept { return keys_.size() + values_.size(); }
  // The stored form of the batch; the writer is empty afterwards.
  std::string Finish(uint64_t snapshot_id, uint32_t sequence);

 private:
  uint32_t TagRef(std::string_view tag);

  std::vector<uint32_t> key_ends_, value_ends_;
  std::string keys_, values_;
  std::vector<int64_t> expires_, stale_, sliding_;
  std::vector<uint64_t> versions_;
  bool any_expires_ = false, any_stale_ = false, any_sliding_ = false, any_version_ = false;
  std::vector<uint32_t> tag_ends_, tag_refs_;
  std::vector<std::string> tag_names_;
  bool any_tags_ = false;
};

class BatchReader {
 public:
  // Checks `stored` (see the header comment). The reader views `stored`, which must outlive it
  // and be 8-byte aligned (std::string storage is); a misaligned input is refused.
  static Result<BatchReader> Open(std::string_view stored);

  uint64_t snapshot_id() const noexcept;
  uint32_t sequence() const noexcept;
  size_t size() const noexcept { return count_; }
  // REQUIRES: i < size().
  EntryData entry(size_t i) const noexcept;
  // Calls fn(std::string_view tag) for each tag of entry i.
  template <typename Fn>
  void ForEachTag(size_t i, Fn&& fn) const {
    if (tag_ends_ == nullptr) return;
    const uint32_t begin = i == 0 ? 0 : tag_end(i - 1);
    for (uint32_t t = begin; t < tag_end(i); ++t) fn(tag_name(tag_ref(t)));
  }

 private:
  explicit BatchReader(const fb::Batch* batch);
  uint32_t tag_end(size_t i) const noexcept;
  uint32_t tag_ref(size_t t) const noexcept;
  std::string_view tag_name(uint32_t ref) const noexcept;

  const fb::Batch* batch_;
  size_t count_ = 0;
  const void* tag_ends_ = nullptr;
};

}  // namespace larder::snapshot
