// cachectl list, info, stats, dump, get, verify.
#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <map>

#include "larder/record.h"
#include "tools/command_util.h"
#include "tools/commands.h"

namespace larder::tools {

Result<std::unique_ptr<snapshot::SnapshotStore>> OpenStore(const std::string& dir, bool write) {
  return snapshot::SnapshotStore::Open(
      dir, write ? snapshot::SnapshotStore::Access::kWrite : snapshot::SnapshotStore::Access::kRead);
}

std::string KindName(SnapshotKind kind) {
  return kind == SnapshotKind::kRecord ? "record" : "key-value";
}

Json InfoJson(const SnapshotInfo& info) {
  Json j;
  j["id"] = info.id;
  j["createdAt"] = info.created_at_ms;
  j["larderVersion"] = info.larder_version;
  j["formatVersion"] = info.format_version;
  j["kind"] = KindName(info.kind);
  j["name"] = info.name;
  j["entries"] = info.entry_count;
  j["batches"] = info.batch_count;
  j["bytes"] = info.byte_count;
  if (info.kind == SnapshotKind::kRecord) {
    Json fields = Json::array();
    for (const FieldSpec& f : info.fields) {
      fields.push_back({{"name", f.name},
                        {"type", std::string(FieldTypeName(f.type))},
                        {"nullable", f.nullable}});
    }
    j["fields"] = fields;
    j["primaryKey"] = info.primary_key;
    Json indexes = Json::array();
    for (const auto& [field, unique] : info.indexes) {
      indexes.push_back({{"field", field}, {"unique", unique}});
    }
    j["indexes"] = indexes;
  }
  return j;
}

Json EntryJson(const SnapshotView& view, const Entry& e) {
  Json j;
  if (view.is_record()) {
    j["key"] = view.DisplayKey(e);
    j["data"] = Json::parse(e.record.ToJson());
  } else {
    PutBytes(&j, "key", e.key);
    PutBytes(&j, "value", e.value);
  }
  j["expiresAt"] = e.expires_at_ms == 0 ? Json(nullptr) : Json(e.expires_at_ms);
  if (e.stale_until_ms != 0) j["staleUntil"] = e.stale_until_ms;
  if (e.sliding_ttl_ns != 0) j["slidingTtlMs"] = e.sliding_ttl_ns / 1'000'000;
  if (e.version != 0) j["version"] = e.version;
  if (!e.tags.empty()) {
    Json tags = Json::array();
    for (std::string_view t : e.tags) tags.push_back(std::string(t));
    j["tags"] = tags;
  }
  return j;
}

Opened OpenView(Output& o, const std::string& dir, std::optional<uint64_t> id) {
  Opened out;
  Result<std::unique_ptr<snapshot::SnapshotStore>> store = OpenStore(dir, false);
  if (!store.ok()) {
    out.exit = Fail(o, store.status());
    return out;
  }
  out.store = std::move(*store);
  Result<SnapshotView> view = SnapshotView::Open(out.store.get(), id);
  if (!view.ok()) {
    out.exit = Fail(o, view.status());
    return out;
  }
  out.view = std::move(*view);
  return out;
}

namespace {

std::string Expiry(const Output& o, int64_t expires_at_ms) {
  if (expires_at_ms == 0) return "never";
  return fmt::format("{} ({})", IsoTime(expires_at_ms), HumanDuration(expires_at_ms - o.now_ms));
}


}  // namespace

int List(Output& o, const std::string& dir) {
  Result<std::unique_ptr<snapshot::SnapshotStore>> store = OpenStore(dir, false);
  if (!store.ok()) return Fail(o, store.status());
  Result<std::vector<SnapshotInfo>> all = (*store)->List();
  if (!all.ok()) return Fail(o, all.status());
  if (o.json) {
    Json j = Json::array();
    for (const SnapshotInfo& info : *all) j.push_back(InfoJson(info));
    o.out << j.dump(2) << "\n";
    return kExitOk;
  }
  Table t({"ID", "CREATED", "KIND", "NAME", "ENTRIES", "BATCHES", "SIZE"});
  for (const SnapshotInfo& info : *all) {
    t.Add({std::to_string(info.id), IsoTime(info.created_at_ms), KindName(info.kind), info.name,
           std::to_string(info.entry_count), std::to_string(info.batch_count),
           HumanBytes(info.byte_count)});
  }
  t.Print(o.out);
  if (all->empty()) o.out << "(no snapshots)\n";
  return kExitOk;
}

int Info(Output& o, const std::string& dir, std::optional<uint64_t> id) {
  Opened v = OpenView(o, dir, id);
  if (v.exit != kExitOk) return v.exit;
  const SnapshotInfo& info = v.view->info();
  if (o.json) {
    o.out << InfoJson(info).dump(2) << "\n";
    return kExitOk;
  }
  o.out << fmt::format(
      "snapshot {}\n  created         {}\n  kind            {}\n  name            {}\n"
      "  entries         {}\n  batches         {}\n  size            {} ({} bytes)\n"
      "  larder version  {}\n  format version  {}\n",
      info.id, IsoTime(info.created_at_ms), KindName(info.kind),
      info.name.empty() ? "(none)" : info.name, info.entry_count, info.batch_count,
      HumanBytes(info.byte_count), info.byte_count, info.larder_version, info.format_version);
  if (info.kind == SnapshotKind::kRecord) {
    o.out << "  primary key     " << info.primary_key << "\n  fields\n";
    for (const FieldSpec& f : info.fields) {
      o.out << fmt::format("    {:<16}{}{}\n", f.name, FieldTypeName(f.type),
                           f.nullable ? "" : " not null");
    }
    o.out << "  indexes\n";
    for (const auto& [field, unique] : info.indexes) {
      o.out << fmt::format("    {:<16}{}\n", field, unique ? "unique" : "multi");
    }
    if (info.indexes.empty()) o.out << "    (none)\n";
  }
  return kExitOk;
}

int Stats(Output& o, const std::string& dir, std::optional<uint64_t> id) {
  Opened v = OpenView(o, dir, id);
  if (v.exit != kExitOk) return v.exit;
  const SnapshotView& view = *v.view;
  const int64_t at = view.info().created_at_ms;
  // Remaining TTL at the save, by bucket.
  const std::vector<std::pair<std::string, int64_t>> buckets = {
      {"<= 1 minute", 60'000}, {"<= 1 hour", 3'600'000}, {"<= 1 day", 86'400'000}};
  std::vector<uint64_t> ttl(buckets.size() + 2, 0);  // ..., > 1 day, never
  uint64_t entries = 0, key_bytes = 0, value_bytes = 0, expired_now = 0, stale = 0, sliding = 0;
  std::map<std::string, uint64_t> prefixes, tags;
  Progress progress(o, "stats", view.info().batch_count);
  Status s = view.ForEach(
      [&](const Entry& e) {
        ++entries;
        key_bytes += e.key.size();
        value_bytes += e.value.size();
        if (e.stale_until_ms != 0) ++stale;
        if (e.sliding_ttl_ns != 0) ++sliding;
        if (e.expires_at_ms == 0) {
          ++ttl.back();
        } else {
          if (e.expires_at_ms <= o.now_ms) ++expired_now;
          size_t b = 0;
          while (b < buckets.size() && e.expires_at_ms - at > buckets[b].second) ++b;
          ++ttl[b];
        }
        if (!view.is_record()) {
          const std::string_view key = e.key;
          const size_t colon = key.find(':');
          prefixes[Printable(colon == std::string_view::npos ? key.substr(0, 0)
                                                              : key.substr(0, colon + 1))]++;
        }
        for (std::string_view t : e.tags) tags[std::string(t)]++;
        return true;
      },
      [&](uint32_t done) { progress.Update(done); });
  if (!s.ok()) return Fail(o, s);

  auto top = [](const std::map<std::string, uint64_t>& m, size_t n) {
    std::vector<std::pair<std::string, uint64_t>> v(m.begin(), m.end());
    std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (v.size() > n) v.resize(n);
    return v;
  };
  const auto top_prefixes = top(prefixes, 10);
  const auto top_tags = top(tags, 10);
  std::vector<std::string> labels;
  for (const auto& b : buckets) labels.push_back(b.first);
  labels.push_back("> 1 day");
  labels.push_back("never");

  if (o.json) {
    Json j;
    j["id"] = view.info().id;
    j["entries"] = entries;
    j["keyBytes"] = key_bytes;
    j["valueBytes"] = value_bytes;
    j["storedBytes"] = view.info().byte_count;
    j["expiredNow"] = expired_now;
    j["withStaleWindow"] = stale;
    j["sliding"] = sliding;
    Json h = Json::object();
    for (size_t i = 0; i < labels.size(); ++i) h[labels[i]] = ttl[i];
    j["ttlAtSave"] = h;
    Json p = Json::array();
    for (const auto& [prefix, n] : top_prefixes) p.push_back({{"prefix", prefix}, {"entries", n}});
    j["topPrefixes"] = p;
    Json t = Json::array();
    for (const auto& [tag, n] : top_tags) t.push_back({{"tag", tag}, {"entries", n}});
    j["topTags"] = t;
    o.out << j.dump(2) << "\n";
    return kExitOk;
  }
  o.out << fmt::format(
      "snapshot {}: {} entries, keys {}, values {}, stored {}\n"
      "  expired since the save  {}\n  with a stale window     {}\n  sliding                 {}\n",
      view.info().id, entries, HumanBytes(key_bytes), HumanBytes(value_bytes),
      HumanBytes(view.info().byte_count), expired_now, stale, sliding);
  o.out << "\nremaining TTL at the save\n";
  Table th({"TTL", "ENTRIES", "SHARE"});
  for (size_t i = 0; i < labels.size(); ++i) {
    th.Add({labels[i], std::to_string(ttl[i]),
            entries == 0 ? "0.0%" : fmt::format("{:.1f}%", 100.0 * ttl[i] / entries)});
  }
  th.Print(o.out);
  if (!view.is_record()) {
    o.out << "\ntop key prefixes (up to the first ':')\n";
    Table tp({"PREFIX", "ENTRIES"});
    for (const auto& [prefix, n] : top_prefixes) {
      tp.Add({prefix.empty() ? "(none)" : prefix, std::to_string(n)});
    }
    tp.Print(o.out);
  }
  o.out << "\ntop tags\n";
  Table tt({"TAG", "ENTRIES"});
  for (const auto& [tag, n] : top_tags) tt.Add({tag, std::to_string(n)});
  tt.Print(o.out);
  if (top_tags.empty()) o.out << "(no tags)\n";
  return kExitOk;
}

int Dump(Output& o, const std::string& dir, std::optional<uint64_t> id, const DumpFilter& filter) {
  Opened v = OpenView(o, dir, id);
  if (v.exit != kExitOk) return v.exit;
  const SnapshotView& view = *v.view;
  Json rows = Json::array();
  Table table({view.is_record() ? "PRIMARY KEY" : "KEY", view.is_record() ? "RECORD" : "VALUE",
               "EXPIRES", "TAGS"});
  size_t shown = 0, matched = 0;
  Progress progress(o, "dump", view.info().batch_count);
  Status s = view.ForEach([&](const Entry& e) {
    const std::string key = view.DisplayKey(e);
    if (!filter.prefix.empty() && key.compare(0, filter.prefix.size(), filter.prefix) != 0) {
      return true;
    }
    if (!filter.pattern.empty() && fnmatch(filter.pattern.c_str(), key.c_str(), 0) != 0) {
      return true;
    }
    if (!filter.tag.empty() &&
        std::find(e.tags.begin(), e.tags.end(), filter.tag) == e.tags.end()) {
      return true;
    }
    ++matched;
    if (filter.limit != 0 && shown >= filter.limit) return true;  // keep counting matches
    ++shown;
    if (o.json) {
      rows.push_back(EntryJson(view, e));
      return true;
    }
    std::string value = view.is_record() ? e.record.ToJson() : Printable(e.value);
    if (value.size() > 60) value = value.substr(0, 57) + "...";
    std::string tags;
    for (std::string_view t : e.tags) tags += (tags.empty() ? "" : ",") + std::string(t);
    table.Add({key, value, Expiry(o, e.expires_at_ms), tags});
    return true;
  }, [&](uint32_t done) { progress.Update(done); });
  if (!s.ok()) return Fail(o, s);
  if (o.json) {
    o.out << rows.dump(2) << "\n";
    return kExitOk;
  }
  table.Print(o.out);
  if (matched > shown) {
    o.out << fmt::format("({} of {} matching entries shown; --limit 0 shows all)\n", shown,
                         matched);
  }
  return kExitOk;
}

int Get(Output& o, const std::string& dir, uint64_t id, const std::string& key) {
  Opened v = OpenView(o, dir, id);
  if (v.exit != kExitOk) return v.exit;
  const SnapshotView& view = *v.view;
  bool found = false;
  Progress progress(o, "get", view.info().batch_count);
  Status s = view.ForEach([&](const Entry& e) {
    const bool match = view.is_record() ? view.DisplayKey(e) == key : e.key == key;
    if (!match) return true;
    found = true;
    if (o.json) {
      o.out << EntryJson(view, e).dump(2) << "\n";
    } else if (view.is_record()) {
      o.out << e.record.ToJson() << "\n";
    } else {
      o.out.write(e.value.data(), static_cast<std::streamsize>(e.value.size()));
      o.out << "\n";
    }
    return false;
  }, [&](uint32_t done) { progress.Update(done); });
  if (!s.ok()) return Fail(o, s);
  if (!found) {
    return Fail(o, Status::NotFound(fmt::format("snapshot {} holds no key '{}'", id, key)));
  }
  return kExitOk;
}

int Verify(Output& o, const std::string& dir, std::optional<uint64_t> id) {
  Result<std::unique_ptr<snapshot::SnapshotStore>> store = OpenStore(dir, false);
  if (!store.ok()) return Fail(o, store.status());
  std::vector<SnapshotInfo> targets;
  if (id) {
    Result<SnapshotInfo> one = (*store)->Find(id);
    if (!one.ok()) return Fail(o, one.status());
    targets.push_back(std::move(*one));
  } else {
    Result<std::vector<SnapshotInfo>> all = (*store)->List();
    if (!all.ok()) return Fail(o, all.status());
    targets = std::move(*all);
  }
  int exit = kExitOk;
  Json report = Json::array();
  for (const SnapshotInfo& info : targets) {
    Result<SnapshotView> view = SnapshotView::Open(store->get(), info.id);
    Status s = view.ok() ? Status::OK() : view.status();
    if (s.ok()) {
      Progress progress(o, fmt::format("verify {}", info.id), info.batch_count);
      s = view->ForEach([](const Entry&) { return true; },
                        [&](uint32_t done) { progress.Update(done); });
    }
    if (!s.ok()) exit = ExitCodeFor(s);
    if (o.json) {
      Json r{{"id", info.id}, {"ok", s.ok()}};
      if (!s.ok()) r["error"] = s.ToString();
      report.push_back(r);
    } else if (s.ok()) {
      o.out << fmt::format("snapshot {}: ok ({} entries in {} batches)\n", info.id,
                           info.entry_count, info.batch_count);
    } else {
      o.out << fmt::format("snapshot {}: FAILED: {}\n", info.id, s.ToString());
    }
  }
  if (o.json) o.out << report.dump(2) << "\n";
  if (targets.empty() && !o.json) o.out << "(no snapshots)\n";
  return exit;
}

}  // namespace larder::tools
