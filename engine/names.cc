// Names of public enums and the text form of CacheStats.
#include <fmt/format.h>

#include "larder/events.h"
#include "larder/stats.h"

namespace larder {

std::string_view EventTypeName(EventType type) noexcept {
  switch (type) {
    case EventType::kSet:
      return "set";
    case EventType::kDelete:
      return "delete";
    case EventType::kExpired:
      return "expired";
    case EventType::kEvicted:
      return "evicted";
    case EventType::kRefreshed:
      return "refreshed";
    case EventType::kError:
      return "error";
    case EventType::kClear:
      return "clear";
  }
  return "unknown";
}

std::string_view RemovalCauseName(RemovalCause cause) noexcept {
  switch (cause) {
    case RemovalCause::kExplicit:
      return "explicit";
    case RemovalCause::kReplaced:
      return "replaced";
    case RemovalCause::kExpired:
      return "expired";
    case RemovalCause::kSize:
      return "size";
  }
  return "unknown";
}

std::string CacheStats::ToString() const {
  std::string out = fmt::format(
      "entries {}\nbytes {}\nmax_entries {}\nmax_bytes {}\nhits {}\nmisses {}\nhit_rate {:.4f}\n"
      "evictions {}\nexpirations {}\n",
      entries, bytes, max_entries, max_bytes, hits, misses, hit_rate, evictions, expirations);
  for (int c = 0; c < kRemovalCauseCount; ++c) {
    out += fmt::format("removals_{} {}\n", RemovalCauseName(static_cast<RemovalCause>(c)),
                       removals[c]);
  }
  out += fmt::format(
      "loads {}\nload_failures {}\nload_nanos {}\nstale_served {}\nrefreshes {}\n"
      "coalesced_loads {}\nlistener_errors {}\n",
      loads, load_failures, load_nanos, stale_served, refreshes, coalesced_loads, listener_errors);
  return out;
}

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

}  // namespace

std::string CacheStats::ToPrometheus(std::string_view cache_name) const {
  const std::string base_labels =
      cache_name.empty() ? std::string() : fmt::format("cache=\"{}\"", LabelValue(cache_name));
  const auto labels = [&](std::string_view extra) {
    if (base_labels.empty() && extra.empty()) return std::string();
    if (base_labels.empty()) return fmt::format("{{{}}}", extra);
    if (extra.empty()) return fmt::format("{{{}}}", base_labels);
    return fmt::format("{{{},{}}}", base_labels, extra);
  };
  std::string out;
  const auto family = [&](std::string_view name, std::string_view type, std::string_view help) {
    out += fmt::format("# HELP larder_cache_{} {}\n# TYPE larder_cache_{} {}\n", name, help, name,
                       type);
  };
  const auto sample = [&](std::string_view name, std::string_view extra, auto value) {
    out += fmt::format("larder_cache_{}{} {}\n", name, labels(extra), value);
  };
  const auto gauge = [&](std::string_view name, std::string_view help, auto value) {
    family(name, "gauge", help);
    sample(name, "", value);
  };
  const auto counter = [&](std::string_view name, std::string_view help, uint64_t value) {
    family(name, "counter", help);
    sample(name, "", value);
  };
  gauge("entries", "Entries stored, including expired ones not yet removed.", entries);
  gauge("bytes", "Summed entry weights (key + value + per-entry overhead).", bytes);
  gauge("max_entries", "Bound on entries; 0 means unbounded.", max_entries);
  gauge("max_bytes", "Bound on bytes; 0 means unbounded.", max_bytes);
  counter("hits_total", "Reads answered from the cache.", hits);
  counter("misses_total", "Reads that found nothing live.", misses);
  gauge("hit_ratio", "hits / (hits + misses).", hit_rate);
  family("removals_total", "counter", "Entries removed, by cause.");
  for (int c = 0; c < kRemovalCauseCount; ++c) {
    sample("removals_total",
           fmt::format("cause=\"{}\"", RemovalCauseName(static_cast<RemovalCause>(c))),
           removals[c]);
  }
  counter("loads_total", "Fetcher runs that succeeded.", loads);
  counter("load_failures_total", "Fetcher runs that failed or threw.", load_failures);
  gauge("load_seconds_total", "Time spent in fetchers.", static_cast<double>(load_nanos) / 1e9);
  counter("stale_served_total", "Answers served from a stale value.", stale_served);
  counter("refreshes_total", "Background refreshes started.", refreshes);
  counter("coalesced_loads_total", "Reads that waited for another caller's load.", coalesced_loads);
  counter("listener_errors_total", "Event listener calls that threw.", listener_errors);
  return out;
}

}  // namespace larder
