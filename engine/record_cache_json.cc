// RecordCache JSON export and import in the seed's shapes.
#include <algorithm>

#include <fmt/format.h>

#include "base/epoch.h"
#include "engine/record_cache_impl.h"
#include "snapshot/json_codec.h"
#include "snapshot/record_json.h"

namespace larder {
namespace {

// Orders primary keys of one type; exports list records by primary key, so they diff cleanly.
bool PkLess(const FieldValue& a, const FieldValue& b) {
  switch (a.type()) {
    case FieldType::kString:
    case FieldType::kBytes: return a.as_bytes() < b.as_bytes();
    case FieldType::kTimestamp: return a.as_timestamp().micros < b.as_timestamp().micros;
    default: return a.as_int64() < b.as_int64();
  }
}

}  // namespace

std::string RecordCacheImpl::ToJson(bool include_meta) {
  struct Item {
    std::string_view bytes;
    int64_t deadline;
  };
  epoch::Guard pin;  // keeps every record seen readable until the text is written
  std::vector<Item> items;
  items.reserve(primary->Size());
  primary->ForEach([&](std::string_view, std::string_view value, int64_t deadline, int64_t) {
    if (!include_meta && deadline != kNever && clock->Reached(deadline)) return;  // live only
    items.push_back({value, deadline});
  });
  const Schema* s = schema.get();
  std::sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
    return PkLess(RecordView(s, a.bytes).Get(pk_index), RecordView(s, b.bytes).Get(pk_index));
  });
  // Wall-clock milliseconds from monotonic deadlines, with one clock reading for all.
  const int64_t mono_now = clock->NowNanos();
  const int64_t wall_now = clock->ToWallMillis(mono_now);
  std::string out;
  out.reserve(items.size() * 96 + 2);
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    if (include_meta) out.append("{\"data\":");
    RecordView(s, items[i].bytes).AppendJson(&out);
    if (include_meta) {
      out.append(",\"expiresAt\":");
      if (items[i].deadline == kNever) {
        out.append("null");
      } else {
        json::AppendValue(&out, FieldValue::Int64(wall_now + (items[i].deadline - mono_now) /
                                                                  1'000'000));
      }
      out.push_back('}');
    }
  }
  out.push_back(']');
  return out;
}

Status RecordCacheImpl::LoadFromJson(std::string_view text, bool has_meta) {
  // Everything is parsed and validated before anything is applied: all or nothing.
  Result<std::vector<json::ParsedRecord>> parsed = json::ParseRecordArray(schema, text, has_meta);
  if (!parsed.ok()) return parsed.status();
  const int64_t mono_now = clock->NowNanos();
  const int64_t wall_now = clock->ToWallMillis(mono_now);
  for (const json::ParsedRecord& p : *parsed) {
    if (!has_meta) {
      Status s = UpsertRow(p.record);
      if (!s.ok()) return s;
      continue;
    }
    int64_t deadline = kNever;  // "expiresAt": null never expires
    if (p.expires_at_ms) {
      int64_t delta_ms, delta_ns;
      if (__builtin_sub_overflow(*p.expires_at_ms, wall_now, &delta_ms) ||
          __builtin_mul_overflow(delta_ms, 1'000'000, &delta_ns)) {
        delta_ns = *p.expires_at_ms < wall_now ? -1 : kNever / 2;
      }
      if (delta_ns <= 0) continue;  // already expired: skipped
      deadline = DeadlineAfter(mono_now, delta_ns);
    }
    Status s = UpsertRow(p.record, deadline);
    if (!s.ok()) return s;
  }
  FlushRemovals();
  return Status::OK();
}

}  // namespace larder
