// The memory suite: RSS (or redis used_memory) growth per entry, measured in child processes.
#include "memory.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include "peer.h"
#include "process.h"
#include "workload.h"

namespace larder::bench {

uint64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  statm >> size_pages >> resident_pages;
  return resident_pages * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

std::map<std::string, double> ParseFields(std::string_view line) {
  std::map<std::string, double> fields;
  while (!line.empty()) {
    const size_t space = line.find_first_of(" \n");
    const std::string_view token = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    const size_t eq = token.find('=');
    if (eq == std::string_view::npos) continue;
    double value = 0;
    const std::string_view number = token.substr(eq + 1);
    if (std::from_chars(number.data(), number.data() + number.size(), value).ec == std::errc()) {
      fields[std::string(token.substr(0, eq))] = value;
    }
  }
  return fields;
}

int MemoryChildMain(std::string_view system) {
  const PeerFactory* factory = FindPeer(system);
  if (factory == nullptr) {
    std::fprintf(stderr, "unknown system '%.*s'\n", static_cast<int>(system.size()), system.data());
    return 2;
  }
  const KeySet keys(kKeyCount);  // before the first reading: the keys are not the system's
  const uint64_t rss_before = RssBytes();
  std::string why;
  std::unique_ptr<Peer> peer = factory->make(&why);
  if (peer == nullptr) {
    std::fprintf(stderr, "skipping %.*s: %s\n", static_cast<int>(system.size()), system.data(),
                 why.c_str());
    return kMemoryChildSkipped;
  }
  const std::optional<uint64_t> reported_before = peer->ReportedMemoryBytes();
  const auto start = std::chrono::steady_clock::now();
  peer->Fill(keys);
  const double fill_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::optional<uint64_t> reported_after = peer->ReportedMemoryBytes();
  const uint64_t rss_after = RssBytes();
  const uint64_t entries = peer->EntryCount();
  std::printf("entries=%llu rss_before=%llu rss_after=%llu fill_seconds=%.6f",
              static_cast<unsigned long long>(entries), static_cast<unsigned long long>(rss_before),
              static_cast<unsigned long long>(rss_after), fill_seconds);
  if (reported_before && reported_after) {
    std::printf(" reported_before=%llu reported_after=%llu",
                static_cast<unsigned long long>(*reported_before),
                static_cast<unsigned long long>(*reported_after));
  }
  std::printf("\n");
  return 0;
}

std::vector<MemoryRow> RunMemorySuite(const std::vector<std::string>& systems) {
  const std::string self = SelfExecutable();
  std::vector<MemoryRow> rows;
  for (const std::string& system : systems) {
    std::string output;
    const int status = RunProcess({self, "--memory-child", system}, &output);
    if (status == kMemoryChildSkipped) continue;  // the child printed why
    std::map<std::string, double> f = ParseFields(output);
    if (status != 0 || f.count("entries") == 0 || f["entries"] <= 0) {
      std::printf("memory: %s failed (exit %d): %s\n", system.c_str(), status, output.c_str());
      continue;
    }
    MemoryRow row;
    row.system = system;
    row.entries = static_cast<uint64_t>(f["entries"]);
    const bool reported = f.count("reported_after") != 0;
    const double grown =
        reported ? f["reported_after"] - f["reported_before"] : f["rss_after"] - f["rss_before"];
    row.source = reported ? "redis used_memory" : "rss";
    row.bytes_per_entry = grown / f["entries"] - static_cast<double>(kKeySize + kValueSize);
    row.fill_ops_per_sec = f["fill_seconds"] > 0 ? f["entries"] / f["fill_seconds"] : 0;
    std::printf("  memory %-16s %8.1f bytes/entry beyond key+value (%s, %llu entries)\n",
                row.system.c_str(), row.bytes_per_entry, row.source.c_str(),
                static_cast<unsigned long long>(row.entries));
    std::fflush(stdout);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace larder::bench
