// RecordCache JSON export and import in the seed's shapes.
#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "base/epoch.h"
#include "engine/record_bulk.h"
#include "engine/record_cache_impl.h"
#include "snapshot/json_codec.h"
#include "snapshot/record_json.h"

namespace larder {

std::string RecordCacheImpl::ToJson(bool include_meta) {
  struct Item {
    FieldValue pk;  // read once: sorting compares it n log n times
    std::string_view bytes;
    int64_t deadline;
  };
  const Schema* s = schema.get();
  epoch::Guard pin;  // keeps every record seen readable until the text is written
  std::vector<Item> items;  // exports list records by primary key, so they diff cleanly
  items.reserve(primary->Size());
  size_t record_bytes = 0;
  primary->ForEach([&](std::string_view, std::string_view value, int64_t deadline, int64_t) {
    if (!include_meta && deadline != kNever && clock->Reached(deadline)) return;  // live only
    items.push_back({RecordView(s, value).Get(pk_index), value, deadline});
    record_bytes += value.size();
  });
  if (schema->field(pk_index).type == FieldType::kString ||
      schema->field(pk_index).type == FieldType::kBytes) {
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.pk.as_bytes() < b.pk.as_bytes(); });
  } else {  // bool, int64 and timestamp keys (a primary key is never a double) by value
    std::sort(items.begin(), items.end(),
              [](const Item& a, const Item& b) { return a.pk.as_int64() < b.pk.as_int64(); });
  }
  // One allocation in the common case: field names and punctuation per record, values at
  // most about twice their encoded size (numbers in decimal, strings with a few escapes).
  size_t names = 0;
  for (const FieldSpec& f : s->fields()) names += f.name.size() + 4;
  const size_t per_record = names + (include_meta ? 40 : 2);
  // Wall-clock milliseconds from monotonic deadlines, with one clock reading for all.
  const int64_t mono_now = clock->NowNanos();
  const int64_t wall_now = clock->ToWallMillis(mono_now);
  std::string out;
  out.reserve(items.size() * per_record + record_bytes * 2 + 2);
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
  // Records the cache could never hold (too large for its bounds) fail here, not half way.
  for (size_t i = 0; i < parsed->size(); ++i) {
    const Record& r = (*parsed)[i].record;
    Status fits = primary->CheckFits(PkKey(r.Get(pk_index)), r.bytes());
    if (!fits.ok()) return Status::InvalidArgument(fmt::format("element {}: {}", i, fits.message()));
  }
  const int64_t mono_now = clock->NowNanos();
  const int64_t wall_now = clock->ToWallMillis(mono_now);
  BulkUpsert bulk(this, Origin::kDirect, /*parallel=*/true,
                  std::random_device{}() ^ static_cast<uint64_t>(mono_now));
  for (json::ParsedRecord& p : *parsed) {
    if (!has_meta) {
      Status s = bulk.Add(std::move(p.record));
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
    Status s = bulk.Add(std::move(p.record), deadline);
    if (!s.ok()) return s;
  }
  return bulk.Finish();
}

}  // namespace larder
