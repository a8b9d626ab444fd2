// Prometheus text exposition (format 0.0.4) of CacheStats and RecordCacheStats.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "larder/cache.h"
#include "larder/record_cache.h"
#include "larder/stats.h"

namespace larder {
namespace {

// Escapes a label value as the exposition format requires (backslash, quote, newline).
std::string LabelValue(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// Writes metric families named <prefix><name>, every sample labelled cache="<name>" when a
// cache name is given.
class Exposition {
 public:
  Exposition(std::string_view prefix, std::string_view cache_name)
      : prefix_(prefix),
        base_labels_(cache_name.empty() ? std::string()
                                        : fmt::format("cache=\"{}\"", LabelValue(cache_name))) {}

  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {}{} {}\n# TYPE {}{} {}\n", prefix_, name, help, prefix_, name,
                        type);
  }
  template <typename V>
  void Sample(std::string_view name, std::string_view extra, V value) {
    out_ += fmt::format("{}{}{} {}\n", prefix_, name, Labels(extra), value);
  }
  template <typename V>
  void Gauge(std::string_view name, std::string_view help, V value) {
    Family(name, "gauge", help);
    Sample(name, "", value);
  }
  void Counter(std::string_view name, std::string_view help, uint64_t value) {
    Family(name, "counter", help);
    Sample(name, "", value);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string Labels(std::string_view extra) const {
    if (base_labels_.empty() && extra.empty()) return {};
    if (base_labels_.empty()) return fmt::format("{{{}}}", extra);
    if (extra.empty()) return fmt::format("{{{}}}", base_labels_);
    return fmt::format("{{{},{}}}", base_labels_, extra);
  }

  std::string prefix_;
  std::string base_labels_;
  std::string out_;
};

}  // namespace

std::string CacheStats::ToPrometheus(std::string_view cache_name) const {
  Exposition x("larder_cache_", cache_name);
  x.Gauge("entries", "Entries stored, including expired ones not yet removed.", entries);
  x.Gauge("bytes", "Summed entry weights (key + value + per-entry overhead).", bytes);
  x.Gauge("max_entries", "Bound on entries; 0 means unbounded.", max_entries);
  x.Gauge("max_bytes", "Bound on bytes; 0 means unbounded.", max_bytes);
  x.Counter("hits_total", "Reads answered from the cache.", hits);
  x.Counter("misses_total", "Reads that found nothing live.", misses);
  x.Gauge("hit_ratio", "hits / (hits + misses).", hit_rate);
  x.Family("removals_total", "counter", "Entries removed, by cause.");
  for (int c = 0; c < kRemovalCauseCount; ++c) {
    x.Sample("removals_total",
             fmt::format("cause=\"{}\"", RemovalCauseName(static_cast<RemovalCause>(c))),
             removals[c]);
  }
  x.Counter("loads_total", "Fetcher runs that succeeded.", loads);
  x.Counter("load_failures_total", "Fetcher runs that failed or threw.", load_failures);
  x.Gauge("load_seconds_total", "Time spent in fetchers.", static_cast<double>(load_nanos) / 1e9);
  x.Counter("stale_served_total", "Answers served from a stale value.", stale_served);
  x.Counter("refreshes_total", "Background refreshes started.", refreshes);
  x.Counter("coalesced_loads_total", "Reads that waited for another caller's load.",
            coalesced_loads);
  x.Counter("listener_errors_total", "Event listener calls that threw.", listener_errors);
  return x.Take();
}

std::string RecordCacheStats::ToPrometheus(std::string_view cache_name) const {
  Exposition x("larder_record_cache_", cache_name);
  x.Gauge("records", "Records cached.", total);
  x.Gauge("max_records", "Bound on records; 0 means unbounded.", max_size);
  x.Gauge("memory_bytes", "Summed entry weights of records and index entries.", memory_bytes);
  x.Family("index_values", "gauge", "Values indexed, by index.");
  for (const auto& [name, count] : by_key) {
    x.Sample("index_values", fmt::format("index=\"{}\"", LabelValue(name)), count);
  }
  x.Counter("hits_total", "Lookups answered from the cache.", hits);
  x.Counter("misses_total", "Lookups that found nothing cached.", misses);
  x.Gauge("hit_ratio", "hits / (hits + misses).", hit_rate / 100.0);
  x.Counter("stale_hits_total", "Lookups answered with a stale record.", stale_hits);
  x.Counter("negative_hits_total", "Lookups answered from the negative cache.", negative_hits);
  x.Counter("shared_loads_total", "Misses that waited for another caller's load.", shared_loads);
  x.Counter("evictions_total", "Records dropped to honour the bounds.", evictions);
  x.Counter("expirations_total", "Records removed at the end of their ttl.", expirations);
  x.Counter("loads_total", "Source calls that succeeded.", loads);
  x.Counter("load_failures_total", "Source calls that failed.", load_failures);
  x.Gauge("load_seconds_total", "Time spent in source calls.",
          static_cast<double>(load_nanos) / 1e9);
  x.Gauge("load_seconds_max", "The slowest source call.",
          static_cast<double>(max_load_nanos) / 1e9);
  x.Counter("syncs_total", "Syncs run (full and incremental).", syncs);
  x.Counter("full_syncs_total", "Full syncs run.", full_syncs);
  x.Gauge("syncing", "1 while a sync runs.", syncing ? 1 : 0);
  if (last_sync_at_ms) {
    x.Gauge("last_sync_timestamp_seconds", "When the last sync finished (Unix time).",
            static_cast<double>(*last_sync_at_ms) / 1e3);
  }
  return x.Take();
}

std::string Cache::ExportPrometheus(std::string_view cache_name) const {
  return GetStats().ToPrometheus(cache_name);
}

std::string RecordCache::ExportPrometheus() const { return GetStats().ToPrometheus(name()); }

}  // namespace larder
