// Simulator output: console tables, hit_ratio.json, gnuplot charts, a markdown summary.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace larder::sim {

struct Cell {
  std::string trace;
  std::string policy;
  uint64_t capacity;
  double hit_ratio;  // 0..1
};

struct TraceRun {
  std::string trace;
  std::string format;
  bool weighted = false;
  uint64_t requests = 0;
  uint64_t unique_keys = 0;
  double seconds = 0;
  std::vector<std::string> policies;
  std::vector<uint64_t> capacities;
  std::vector<Cell> cells;
  const Cell* Find(const std::string& policy, uint64_t capacity) const;
};

// One table: a row per capacity, a column per policy, hit ratios in percent.
std::string FormatTable(const TraceRun& run, bool markdown);
// [{"trace", "policy", "capacity", "hit_ratio"}, ...] for every run.
std::string ToJson(const std::vector<TraceRun>& runs);
// Draws DIR/hit_ratio_<trace>.png (hit ratio against capacity, a line per policy, OPT dashed).
// False with *why when gnuplot is missing or fails.
bool DrawChart(const TraceRun& run, const std::filesystem::path& dir, std::string* why);

}  // namespace larder::sim
