// Simulator output.
#include "report.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "../peers/process.h"

namespace larder::sim {

const Cell* TraceRun::Find(const std::string& policy, uint64_t capacity) const {
  for (const Cell& c : cells) {
    if (c.policy == policy && c.capacity == capacity) return &c;
  }
  return nullptr;
}

std::string FormatTable(const TraceRun& run, bool markdown) {
  std::string out;
  const std::string unit = run.weighted ? "capacity (bytes)" : "capacity";
  if (markdown) {
    out += fmt::format("| {} |", unit);
    for (const std::string& p : run.policies) out += fmt::format(" {} |", p);
    out += "\n|---:|";
    for (size_t i = 0; i < run.policies.size(); ++i) out += "---:|";
    out += '\n';
  } else {
    out += fmt::format("{} ({}, {} requests, {} keys{}), hit ratio %\n", run.trace, run.format,
                       run.requests, run.unique_keys, run.weighted ? ", weighted by size" : "");
    out += fmt::format("{:>18}", unit);
    for (const std::string& p : run.policies) out += fmt::format(" {:>15}", p);
    out += '\n';
  }
  for (uint64_t c : run.capacities) {
    out += markdown ? fmt::format("| {} |", c) : fmt::format("{:>18}", c);
    for (const std::string& p : run.policies) {
      const Cell* cell = run.Find(p, c);
      const std::string v = cell ? fmt::format("{:.2f}", 100 * cell->hit_ratio) : "-";
      out += markdown ? fmt::format(" {} |", v) : fmt::format(" {:>15}", v);
    }
    out += '\n';
  }
  return out;
}

std::string ToJson(const std::vector<TraceRun>& runs) {
  std::string out = "[\n";
  bool first = true;
  for (const TraceRun& run : runs) {
    for (const Cell& c : run.cells) {
      out += fmt::format("{}  {{\"trace\": \"{}\", \"policy\": \"{}\", \"capacity\": {}, "
                         "\"hit_ratio\": {:.6f}}}",
                         first ? "" : ",\n", c.trace, c.policy, c.capacity, c.hit_ratio);
      first = false;
    }
  }
  out += "\n]\n";
  return out;
}

bool DrawChart(const TraceRun& run, const std::filesystem::path& dir, std::string* why) {
  const std::string gnuplot = bench::FindOnPath("gnuplot");
  if (gnuplot.empty()) {
    *why = "gnuplot is not on PATH";
    return false;
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path data = dir / fmt::format("hit_ratio_{}.dat", run.trace);
  const std::filesystem::path png = dir / fmt::format("hit_ratio_{}.png", run.trace);
  const std::filesystem::path script_path = dir / fmt::format("hit_ratio_{}.gp", run.trace);
  {
    std::ofstream d(data);
    d << "# capacity";
    for (const std::string& p : run.policies) d << ' ' << p;
    d << '\n';
    for (uint64_t c : run.capacities) {
      d << c;
      for (const std::string& p : run.policies) {
        const Cell* cell = run.Find(p, c);
        d << ' ' << (cell ? fmt::format("{:.3f}", 100 * cell->hit_ratio) : std::string("-"));
      }
      d << '\n';
    }
  }
  std::ostringstream s;
  s << "set terminal pngcairo noenhanced size 760,480 font 'sans,10'\n"
    << "set output '" << png.string() << "'\n"
    << "set title '" << run.trace << ": hit ratio by capacity (" << run.requests
    << " requests, " << run.unique_keys << " keys)'\n"
    << "set xlabel '" << (run.weighted ? "capacity (bytes)" : "capacity (entries)") << "'\n"
    << "set ylabel 'hit ratio (%)'\n"
    << "set logscale x\n"
    << "set yrange [0:*]\n"
    << "set grid\n"
    << "set key left top\n"
    << "set datafile missing '-'\n"
    << "plot ";
  for (size_t i = 0; i < run.policies.size(); ++i) {
    const bool opt = run.policies[i] == "opt";
    s << (i == 0 ? "" : ", ") << "'" << data.string() << "' using 1:" << i + 2
      << " with linespoints lw 2 " << (opt ? "dt 2 lc rgb 'black' " : "") << "title '"
      << run.policies[i] << "'";
  }
  s << '\n';
  std::ofstream(script_path) << s.str();
  if (bench::RunProcess({gnuplot, script_path.string()}, nullptr) != 0) {
    *why = "gnuplot failed on " + script_path.string();
    return false;
  }
  std::filesystem::remove(data, ec);
  std::filesystem::remove(script_path, ec);
  return true;
}

}  // namespace larder::sim
