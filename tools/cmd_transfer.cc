// cachectl export, import, diff, prune.
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "index/key_codec.h"
#include "snapshot/json_codec.h"
#include "snapshot/record_json.h"
#include "tools/command_util.h"
#include "tools/commands.h"

namespace larder::tools {
namespace {

// Export item: what sorts it and what is written.
struct Item {
  std::string sort_key;
  std::string text;  // one element of the JSON array
};

// Order of exported records: by primary key value, like RecordCache::ToJson.
std::string SortKey(const SnapshotView& view, const Entry& e) {
  if (!view.is_record()) return std::string(e.key);
  const FieldValue pk = e.record.Get(view.schema()->primary_key_index());
  if (pk.type() == FieldType::kString || pk.type() == FieldType::kBytes) {
    return std::string(pk.as_bytes());
  }
  // int64, bool and timestamp keys: big-endian with the sign bit flipped sorts numerically.
  const uint64_t u = static_cast<uint64_t>(pk.as_int64()) ^ (uint64_t{1} << 63);
  std::string k(8, '\0');
  for (int i = 0; i < 8; ++i) k[i] = static_cast<char>(u >> (56 - 8 * i));
  return k;
}

Status ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("cannot open '{}'", path));
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return Status::OK();
}

// Key-value entries from JSON: [{"key"|"key_base64", "value"|"value_base64"}], with meta
// [{"data": {...}, "expiresAt": ms|null}].
struct KvItem {
  std::string key, value;
  int64_t expires_at_ms = 0;
};
Status Bytes(const Json& obj, const std::string& name, size_t index, std::string* out) {
  if (obj.contains(name) && obj[name].is_string()) {
    *out = obj[name].get<std::string>();
    return Status::OK();
  }
  if (obj.contains(name + "_base64") && obj[name + "_base64"].is_string()) {
    Status s = json::DecodeBase64(obj[name + "_base64"].get<std::string>(), out);
    if (!s.ok()) return s.WithContext(fmt::format("element {}: {}_base64", index, name));
    return Status::OK();
  }
  return Status::InvalidArgument(
      fmt::format("element {}: needs a string \"{}\" or \"{}_base64\"", index, name, name));
}
Result<std::vector<KvItem>> ParseKv(const std::string& text, bool meta) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("not valid JSON");
  if (!doc.is_array()) return Status::InvalidArgument("expected a JSON array");
  std::vector<KvItem> items;
  for (size_t i = 0; i < doc.size(); ++i) {
    const Json& el = doc[i];
    if (!el.is_object()) return Status::InvalidArgument(fmt::format("element {}: not an object", i));
    const Json* data = &el;
    KvItem item;
    if (meta) {
      if (!el.contains("data") || !el["data"].is_object()) {
        return Status::InvalidArgument(fmt::format("element {}: needs a \"data\" object", i));
      }
      data = &el["data"];
      if (!el.contains("expiresAt")) {
        return Status::InvalidArgument(fmt::format("element {}: needs \"expiresAt\"", i));
      }
      const Json& exp = el["expiresAt"];
      if (exp.is_number_integer()) {
        item.expires_at_ms = exp.get<int64_t>();
        if (item.expires_at_ms <= 0) {
          return Status::InvalidArgument(fmt::format("element {}: expiresAt must be positive", i));
        }
      } else if (!exp.is_null()) {
        return Status::InvalidArgument(
            fmt::format("element {}: expiresAt must be an integer or null", i));
      }
    }
    Status s = Bytes(*data, "key", i, &item.key);
    if (s.ok()) s = Bytes(*data, "value", i, &item.value);
    if (!s.ok()) return s;
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace

int Export(Output& o, const std::string& dir, std::optional<uint64_t> id, const std::string& file,
           bool meta) {
  Opened opened = OpenView(o, dir, id);
  if (opened.exit != kExitOk) return opened.exit;
  const std::optional<SnapshotView>& view = opened.view;
  std::vector<Item> items;
  items.reserve(view->info().entry_count);
  Progress progress(o, "export", view->info().batch_count);
  Status s = view->ForEach(
      [&](const Entry& e) {
        Item item;
        item.sort_key = SortKey(*view, e);
        std::string data;
        if (view->is_record()) {
          e.record.AppendJson(&data);
        } else {
          Json j;
          PutBytes(&j, "key", e.key);
          PutBytes(&j, "value", e.value);
          data = j.dump();
        }
        if (meta) {
          item.text = fmt::format("{{\"data\":{},\"expiresAt\":{}}}", data,
                                  e.expires_at_ms == 0 ? "null" : std::to_string(e.expires_at_ms));
        } else {
          item.text = std::move(data);
        }
        items.push_back(std::move(item));
        return true;
      },
      [&](uint32_t done) { progress.Update(done); });
  if (!s.ok()) return Fail(o, s);
  std::sort(items.begin(), items.end(),
            [](const Item& a, const Item& b) { return a.sort_key < b.sort_key; });
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) return Fail(o, Status::IOError(fmt::format("cannot write '{}'", file)));
  out << '[';
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out << ',';
    out << items[i].text;
  }
  out << ']';
  out.close();
  if (!out) return Fail(o, Status::IOError(fmt::format("writing '{}' failed", file)));
  if (o.json) {
    o.out << Json{{"id", view->info().id}, {"file", file}, {"entries", items.size()}}.dump(2)
          << "\n";
  } else {
    o.out << fmt::format("exported {} entries of snapshot {} to {}\n", items.size(),
                         view->info().id, file);
  }
  return kExitOk;
}

int Import(Output& o, const std::string& dir, const std::string& file, bool meta,
           std::optional<uint64_t> like, const std::string& name) {
  std::string text;
  Status s = ReadFile(file, &text);
  if (!s.ok()) return Fail(o, s);
  Result<std::unique_ptr<snapshot::SnapshotStore>> store = OpenStore(dir, true);
  if (!store.ok()) return Fail(o, store.status());
  // The template: record snapshots need a schema. Without one the file is key-value.
  SnapshotInfo info;
  info.kind = SnapshotKind::kKeyValue;
  Result<SnapshotInfo> model = (*store)->Find(like);
  if (model.ok()) {
    info.kind = model->kind;
    info.name = model->name;
    info.fields = model->fields;
    info.primary_key = model->primary_key;
    info.indexes = model->indexes;
  } else if (like || model.status().code() != Status::Code::kNotFound) {
    return Fail(o, model.status());
  }
  if (!name.empty()) info.name = name;
  info.created_at_ms = o.now_ms;
  info.larder_version = LARDER_VERSION;

  // Parse and validate everything before writing: a bad file creates no snapshot.
  struct Out {
    std::string key, value;
    int64_t expires_at_ms;
  };
  std::vector<Out> entries;
  if (info.kind == SnapshotKind::kRecord) {
    Result<std::shared_ptr<const Schema>> schema = Schema::Create(info.fields, info.primary_key);
    if (!schema.ok()) return Fail(o, schema.status());
    Result<std::vector<json::ParsedRecord>> parsed = json::ParseRecordArray(*schema, text, meta);
    if (!parsed.ok()) return Fail(o, parsed.status().WithContext(file));
    for (const json::ParsedRecord& p : *parsed) {
      entries.push_back({index::EncodeKey(p.record.Get((*schema)->primary_key_index())),
                         std::string(p.record.bytes()), p.expires_at_ms.value_or(0)});
    }
  } else {
    Result<std::vector<KvItem>> parsed = ParseKv(text, meta);
    if (!parsed.ok()) return Fail(o, parsed.status().WithContext(file));
    for (KvItem& item : *parsed) {
      entries.push_back({std::move(item.key), std::move(item.value), item.expires_at_ms});
    }
  }
  // A key given twice: the later element wins, as if applied in order.
  std::unordered_map<std::string_view, size_t> last;
  for (size_t i = 0; i < entries.size(); ++i) last[entries[i].key] = i;
  Result<std::unique_ptr<snapshot::SnapshotStore::Writer>> writer = (*store)->BeginSnapshot();
  if (!writer.ok()) return Fail(o, writer.status());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (last[entries[i].key] != i) continue;
    s = (*writer)->Add({.key = entries[i].key, .value = entries[i].value,
                        .expires_at_ms = entries[i].expires_at_ms});
    if (!s.ok()) return Fail(o, s);
  }
  Result<SnapshotInfo> done = (*writer)->Commit(std::move(info));
  if (!done.ok()) return Fail(o, done.status());
  if (o.json) {
    o.out << InfoJson(*done).dump(2) << "\n";
  } else {
    o.out << fmt::format("imported {} entries from {} as snapshot {} ({})\n", done->entry_count,
                         file, done->id, KindName(done->kind));
  }
  return kExitOk;
}

int Diff(Output& o, const std::string& dir, uint64_t a, uint64_t b, size_t limit) {
  Result<std::unique_ptr<snapshot::SnapshotStore>> store = OpenStore(dir, false);
  if (!store.ok()) return Fail(o, store.status());
  Result<SnapshotView> va = SnapshotView::Open(store->get(), a);
  if (!va.ok()) return Fail(o, va.status());
  Result<SnapshotView> vb = SnapshotView::Open(store->get(), b);
  if (!vb.ok()) return Fail(o, vb.status());
  if (va->info().kind != vb->info().kind) {
    return Fail(o, Status::InvalidArgument(fmt::format(
                       "snapshot {} is {} and snapshot {} is {}: nothing to compare", a,
                       KindName(va->info().kind), b, KindName(vb->info().kind))));
  }
  // Snapshot a: key -> (value hash, expiry, display key).
  struct Seen {
    uint64_t hash;
    int64_t expires;
    std::string display;
    bool matched = false;
  };
  std::unordered_map<std::string, Seen> first;
  first.reserve(va->info().entry_count);
  Progress progress(o, "diff", uint64_t{va->info().batch_count} + vb->info().batch_count);
  Status s = va->ForEach([&](const Entry& e) {
    first[std::string(e.key)] = {XXH3_64bits(e.value.data(), e.value.size()), e.expires_at_ms,
                                 va->DisplayKey(e)};
    return true;
  }, [&](uint32_t done) { progress.Update(done); });
  if (!s.ok()) return Fail(o, s);
  std::vector<std::string> added, changed, removed;
  uint64_t n_added = 0, n_changed = 0, n_removed = 0, n_expiry = 0;
  s = vb->ForEach([&](const Entry& e) {
    auto it = first.find(std::string(e.key));
    if (it == first.end()) {
      if (n_added++ < limit) added.push_back(vb->DisplayKey(e));
      return true;
    }
    it->second.matched = true;
    if (it->second.hash != XXH3_64bits(e.value.data(), e.value.size())) {
      if (n_changed++ < limit) changed.push_back(it->second.display);
    } else if (it->second.expires != e.expires_at_ms) {
      ++n_expiry;
    }
    return true;
  }, [&](uint32_t done) { progress.Update(uint64_t{va->info().batch_count} + done); });
  if (!s.ok()) return Fail(o, s);
  for (const auto& [key, seen] : first) {
    if (!seen.matched && n_removed++ < limit) removed.push_back(seen.display);
  }
  std::sort(added.begin(), added.end());
  std::sort(changed.begin(), changed.end());
  std::sort(removed.begin(), removed.end());
  const bool same = n_added + n_changed + n_removed + n_expiry == 0;
  if (o.json) {
    o.out << Json{{"from", a},       {"to", b},           {"identical", same},
                  {"added", n_added}, {"removed", n_removed}, {"changed", n_changed},
                  {"expiryChanged", n_expiry}, {"addedKeys", added}, {"removedKeys", removed},
                  {"changedKeys", changed}}
                 .dump(2)
          << "\n";
  } else {
    o.out << fmt::format("{} -> {}: {} added, {} removed, {} changed, {} with a new expiry only\n",
                         a, b, n_added, n_removed, n_changed, n_expiry);
    auto show = [&](const char* sign, const std::vector<std::string>& keys, uint64_t total) {
      for (const std::string& k : keys) o.out << sign << " " << k << "\n";
      if (total > keys.size()) o.out << sign << " ... " << total - keys.size() << " more\n";
    };
    show("+", added, n_added);
    show("-", removed, n_removed);
    show("~", changed, n_changed);
  }
  return same ? kExitOk : kExitDifferent;
}

int Prune(Output& o, const std::string& dir, size_t keep) {
  Result<std::unique_ptr<snapshot::SnapshotStore>> store = OpenStore(dir, true);
  if (!store.ok()) return Fail(o, store.status());
  Result<std::vector<uint64_t>> gone = (*store)->Prune(keep);
  if (!gone.ok()) return Fail(o, gone.status());
  if (o.json) {
    o.out << Json{{"deleted", *gone}}.dump(2) << "\n";
  } else {
    o.out << fmt::format("deleted {} snapshot(s){}\n", gone->size(),
                         gone->empty() ? "" : fmt::format(": {}", fmt::join(*gone, ", ")));
  }
  return kExitOk;
}

}  // namespace larder::tools
