// The memory suite: per-entry overhead of each system after the fill, each in a fresh process.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "results.h"

namespace larder::bench {

// For each system, re-runs this executable as `--memory-child SYSTEM` and parses its report.
// Systems that cannot run here are skipped with a note.
std::vector<MemoryRow> RunMemorySuite(const std::vector<std::string>& systems);

// The body of `--memory-child SYSTEM`: builds the key strings, reads RSS, opens and fills the
// system, reads RSS again and prints one line of `name=value` fields. Returns the exit status
// (kMemoryChildSkipped when the system cannot run here).
int MemoryChildMain(std::string_view system);
inline constexpr int kMemoryChildSkipped = 3;

// Resident set size of this process, in bytes.
uint64_t RssBytes();
// Parses "a=1 b=2 ..." into numbers; fields that are not numbers are left out.
std::map<std::string, double> ParseFields(std::string_view line);

}  // namespace larder::bench
