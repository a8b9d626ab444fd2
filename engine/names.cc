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
    case EventType::kInvalidated:
      return "invalidated";
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

}  // namespace larder
