#include "snapshot/batch.h"

#include <flatbuffers/flatbuffers.h>
#include <fmt/format.h>

#include <cstring>

#include "snapshot/envelope.h"
#include "snapshot/snapshot_generated.h"

namespace larder::snapshot {

// ---- BatchWriter ----

void BatchWriter::Add(const EntryData& e, std::span<const std::string_view> tags) {
  const size_t n = key_ends_.size();
  keys_.append(e.key);
  values_.append(e.value);
  key_ends_.push_back(static_cast<uint32_t>(keys_.size()));
  value_ends_.push_back(static_cast<uint32_t>(values_.size()));
  // Optional columns start filling (with defaults for earlier entries) at their first non-default.
  auto column = [n](std::vector<int64_t>& col, bool& any, int64_t v) {
    if (v != 0 && !any) {
      any = true;
      col.assign(n, 0);
    }
    if (any) col.push_back(v);
  };
  column(expires_, any_expires_, e.expires_at_ms);
  column(stale_, any_stale_, e.stale_until_ms);
  column(sliding_, any_sliding_, e.sliding_ttl_ns);
  if (e.version != 0 && !any_version_) {
    any_version_ = true;
    versions_.assign(n, 0);
  }
  if (any_version_) versions_.push_back(e.version);
  if (!tags.empty() && !any_tags_) {
    any_tags_ = true;
    tag_ends_.assign(n, 0);
  }
  if (any_tags_) {
    for (std::string_view t : tags) tag_refs_.push_back(TagRef(t));
    tag_ends_.push_back(static_cast<uint32_t>(tag_refs_.size()));
  }
}

uint32_t BatchWriter::TagRef(std::string_view tag) {
  // Batches hold few distinct tags; a linear search beats hashing at that size.
  for (size_t i = 0; i < tag_names_.size(); ++i) {
    if (tag_names_[i] == tag) return static_cast<uint32_t>(i);
  }
  tag_names_.emplace_back(tag);
  return static_cast<uint32_t>(tag_names_.size() - 1);
}

std::string BatchWriter::Finish(uint64_t snapshot_id, uint32_t sequence) {
  const size_t n = key_ends_.size();
  flatbuffers::FlatBufferBuilder fbb(keys_.size() + values_.size() + n * 40 + 256);
  auto bytes = [&fbb](const std::string& s) {
    return fbb.CreateVector(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  const auto keys = bytes(keys_);
  const auto values = bytes(values_);
  const auto key_ends = fbb.CreateVector(key_ends_);
  const auto value_ends = fbb.CreateVector(value_ends_);
  flatbuffers::Offset<flatbuffers::Vector<int64_t>> expires, stale, sliding;
  if (any_expires_) expires = fbb.CreateVector(expires_);
  if (any_stale_) stale = fbb.CreateVector(stale_);
  if (any_sliding_) sliding = fbb.CreateVector(sliding_);
  flatbuffers::Offset<flatbuffers::Vector<uint64_t>> versions;
  if (any_version_) versions = fbb.CreateVector(versions_);
  flatbuffers::Offset<flatbuffers::Vector<uint32_t>> tag_ends, tag_refs;
  flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<flatbuffers::String>>> tag_names;
  if (any_tags_) {
    tag_ends = fbb.CreateVector(tag_ends_);
    tag_refs = fbb.CreateVector(tag_refs_);
    tag_names = fbb.CreateVectorOfStrings(tag_names_);
  }
  fbb.Finish(fb::CreateBatch(fbb, snapshot_id, sequence, key_ends, keys, value_ends, values,
                             expires, stale, sliding, tag_ends, tag_refs, tag_names, versions));
  std::string out = Seal(std::string_view(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                                          fbb.GetSize()));
  *this = BatchWriter();
  return out;
}

// ---- BatchReader ----

namespace {

// Offsets `ends` must not decrease and must end exactly at `total`.
template <typename T>
Status CheckEnds(const flatbuffers::Vector<T>* ends, size_t total, const char* what) {
  T prev = 0;
  for (flatbuffers::uoffset_t i = 0; i < ends->size(); ++i) {
    const T e = ends->Get(i);
    if (e < prev) {
      return Status::Corruption(fmt::format("{} offsets decrease at entry {}", what, i));
    }
    prev = e;
  }
  if (prev != total) {
    return Status::Corruption(
        fmt::format("{} offsets end at {} but the column holds {} bytes", what, prev, total));
  }
  return Status::OK();
}

template <typename V>
Status CheckOptional(const V* column, size_t n, const char* what) {
  if (column == nullptr) return Status::OK();
  if (column->size() != n) {
    return Status::Corruption(
        fmt::format("column {} holds {} values for {} entries", what, column->size(), n));
  }
  // The verifier checks a vector's length word (4-byte aligned), not its elements: a crafted
  // buffer could misalign 8-byte values, which a writer never does.
  if (reinterpret_cast<uintptr_t>(column->data()) % alignof(typename V::return_type) != 0) {
    return Status::Corruption(fmt::format("column {} is misaligned", what));
  }
  return Status::OK();
}

}  // namespace

Result<BatchReader> BatchReader::Open(std::string_view stored) {
  Result<std::string_view> payload = Unseal(stored);
  if (!payload.ok()) return payload.status();
  if (reinterpret_cast<uintptr_t>(payload->data()) % 8 != 0) {
    return Status::InvalidArgument("batch bytes are not 8-byte aligned");
  }
  flatbuffers::Verifier verifier(reinterpret_cast<const uint8_t*>(payload->data()),
                                 payload->size());
  if (!verifier.VerifyBuffer<fb::Batch>(nullptr)) {
    return Status::Corruption("not a well-formed batch FlatBuffer");
  }
  const fb::Batch* b = flatbuffers::GetRoot<fb::Batch>(payload->data());
  const size_t n = b->key_ends() == nullptr ? 0 : b->key_ends()->size();
  const size_t key_bytes = b->keys() == nullptr ? 0 : b->keys()->size();
  const size_t value_bytes = b->values() == nullptr ? 0 : b->values()->size();
  if (n > 0 && b->value_ends() == nullptr) return Status::Corruption("value offsets missing");
  Status s = CheckOptional(b->value_ends(), n, "value_ends");
  if (s.ok() && n > 0) s = CheckEnds(b->key_ends(), key_bytes, "key");
  if (s.ok() && n > 0) s = CheckEnds(b->value_ends(), value_bytes, "value");
  if (s.ok() && n == 0 && key_bytes + value_bytes != 0) {
    s = Status::Corruption("key or value bytes without entries");
  }
  if (s.ok()) s = CheckOptional(b->expires_at_ms(), n, "expires_at_ms");
  if (s.ok()) s = CheckOptional(b->stale_until_ms(), n, "stale_until_ms");
  if (s.ok()) s = CheckOptional(b->sliding_ttl_ns(), n, "sliding_ttl_ns");
  if (s.ok()) s = CheckOptional(b->versions(), n, "versions");
  if (s.ok()) s = CheckOptional(b->tag_ends(), n, "tag_ends");
  if (s.ok() && b->sliding_ttl_ns() != nullptr) {
    for (flatbuffers::uoffset_t i = 0; i < n; ++i) {
      if (b->sliding_ttl_ns()->Get(i) < 0) {
        return Status::Corruption(fmt::format("negative sliding ttl at entry {}", i));
      }
    }
  }
  if (s.ok() && b->tag_ends() != nullptr && n > 0) {
    const size_t refs = b->tag_refs() == nullptr ? 0 : b->tag_refs()->size();
    s = CheckEnds(b->tag_ends(), refs, "tag");
    const size_t names = b->tag_names() == nullptr ? 0 : b->tag_names()->size();
    for (flatbuffers::uoffset_t t = 0; s.ok() && t < refs; ++t) {
      if (b->tag_refs()->Get(t) >= names) {
        s = Status::Corruption(fmt::format("tag reference {} past the {} tag names",
                                           b->tag_refs()->Get(t), names));
      }
    }
  }
  if (!s.ok()) return s;
  BatchReader reader(b);
  reader.count_ = n;
  return reader;
}

BatchReader::BatchReader(const fb::Batch* batch)
    : batch_(batch), tag_ends_(batch->tag_ends()) {}

uint64_t BatchReader::snapshot_id() const noexcept { return batch_->snapshot_id(); }
uint32_t BatchReader::sequence() const noexcept { return batch_->sequence(); }

EntryData BatchReader::entry(size_t i) const noexcept {
  const auto idx = static_cast<flatbuffers::uoffset_t>(i);
  EntryData e;
  const uint32_t kb = i == 0 ? 0 : batch_->key_ends()->Get(idx - 1);
  const uint32_t ke = batch_->key_ends()->Get(idx);
  const uint32_t vb = i == 0 ? 0 : batch_->value_ends()->Get(idx - 1);
  const uint32_t ve = batch_->value_ends()->Get(idx);
  if (ke > kb) e.key = {reinterpret_cast<const char*>(batch_->keys()->data()) + kb, ke - kb};
  if (ve > vb) {
    e.value = {reinterpret_cast<const char*>(batch_->values()->data()) + vb, ve - vb};
  }
  if (batch_->expires_at_ms() != nullptr) e.expires_at_ms = batch_->expires_at_ms()->Get(idx);
  if (batch_->stale_until_ms() != nullptr) e.stale_until_ms = batch_->stale_until_ms()->Get(idx);
  if (batch_->sliding_ttl_ns() != nullptr) e.sliding_ttl_ns = batch_->sliding_ttl_ns()->Get(idx);
  if (batch_->versions() != nullptr) e.version = batch_->versions()->Get(idx);
  return e;
}

uint32_t BatchReader::tag_end(size_t i) const noexcept {
  return batch_->tag_ends()->Get(static_cast<flatbuffers::uoffset_t>(i));
}
uint32_t BatchReader::tag_ref(size_t t) const noexcept {
  return batch_->tag_refs()->Get(static_cast<flatbuffers::uoffset_t>(t));
}
std::string_view BatchReader::tag_name(uint32_t ref) const noexcept {
  const flatbuffers::String* s = batch_->tag_names()->Get(ref);
  return {s->c_str(), s->size()};
}

}  // namespace larder::snapshot
