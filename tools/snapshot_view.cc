#include "tools/snapshot_view.h"

#include <fmt/format.h>

#include "base/record_format.h"

namespace larder::tools {

Result<SnapshotView> SnapshotView::Open(snapshot::SnapshotStore* store,
                                        std::optional<uint64_t> id) {
  Result<SnapshotInfo> info = store->Find(id);
  if (!info.ok()) return info.status();
  SnapshotView view;
  view.store_ = store;
  view.info_ = std::move(*info);
  if (view.info_.kind == SnapshotKind::kRecord) {
    Result<std::shared_ptr<const Schema>> schema =
        Schema::Create(view.info_.fields, view.info_.primary_key);
    if (!schema.ok()) {
      return Status::Corruption(fmt::format("snapshot {}: record schema: {}", view.info_.id,
                                            schema.status().message()));
    }
    view.schema_ = std::move(*schema);
  }
  return view;
}

Status SnapshotView::ForEach(const std::function<bool(const Entry&)>& fn,
                             const std::function<void(uint32_t)>& progress) const {
  bool stopped = false;
  Entry e;
  // Stopping early is reported as this status and turned back into OK below.
  const Status kStop = Status::Aborted("stopped");
  Status s = store_->ForEachBatch(info_, [&](const snapshot::BatchReader& batch) {
    for (size_t i = 0; i < batch.size(); ++i) {
      const snapshot::EntryData d = batch.entry(i);
      e.key = d.key;
      e.value = d.value;
      e.expires_at_ms = d.expires_at_ms;
      e.stale_until_ms = d.stale_until_ms;
      e.sliding_ttl_ns = d.sliding_ttl_ns;
      e.version = d.version;
      e.tags.clear();
      batch.ForEachTag(i, [&](std::string_view t) { e.tags.push_back(t); });
      if (schema_ != nullptr) {
        Status valid = record_format::Validate(*schema_, d.value);
        if (!valid.ok()) {
          return Status::Corruption(fmt::format("snapshot {}, batch {}, entry {}: {}", info_.id,
                                                batch.sequence(), i, valid.message()));
        }
        e.record = RecordView(schema_.get(), d.value);
      }
      if (!fn(e)) {
        stopped = true;
        return kStop;
      }
    }
    if (progress) progress(batch.sequence() + 1);
    return Status::OK();
  });
  return stopped ? Status::OK() : s;
}

std::string SnapshotView::DisplayKey(const Entry& e) const {
  if (schema_ != nullptr) return e.record.Get(schema_->primary_key_index()).ToString();
  return Printable(e.key);
}

std::string Printable(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace larder::tools
