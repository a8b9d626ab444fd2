// The throughput chart: a gnuplot data file and script, then gnuplot itself.
#include "plot.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "process.h"

namespace larder::bench {
namespace {

const ThroughputRow* Find(const Results& results, const std::string& system,
                          const std::string& workload, int threads) {
  for (const ThroughputRow& r : results.throughput) {
    if (r.system == system && r.workload == workload && r.threads == threads) return &r;
  }
  return nullptr;
}

}  // namespace

bool DrawThroughputPlot(const Results& results, const ReportContext& context, int threads,
                        const std::filesystem::path& out_dir, std::string* why) {
  const std::string gnuplot = FindOnPath("gnuplot");
  if (gnuplot.empty()) {
    *why = "gnuplot is not on PATH";
    return false;
  }
  std::vector<std::string> systems;
  for (const std::string& s : context.systems) {
    for (const Mix& m : context.mixes) {
      if (Find(results, s, m.name, threads) != nullptr) {
        systems.push_back(s);
        break;
      }
    }
  }
  if (systems.empty()) {
    *why = "no throughput results at " + std::to_string(threads) + " threads";
    return false;
  }

  // Columns: workload, then median, min, max per system; "-" marks a cell not measured.
  std::ostringstream data;
  data << "# workload";
  for (const std::string& s : systems) data << ' ' << s << ' ' << s << "_min " << s << "_max";
  data << '\n';
  for (const Mix& m : context.mixes) {
    data << '"' << m.name << '"';
    for (const std::string& s : systems) {
      const ThroughputRow* r = Find(results, s, m.name, threads);
      if (r == nullptr) {
        data << " - - -";
      } else {
        data << ' ' << r->ops_per_sec / 1e6 << ' ' << r->ops_per_sec_min / 1e6 << ' '
             << r->ops_per_sec_max / 1e6;
      }
    }
    data << '\n';
  }
  const std::filesystem::path data_path = out_dir / "throughput.dat";
  const std::filesystem::path png_path = out_dir / "throughput.png";
  std::ofstream(data_path) << data.str();

  std::ostringstream script;
  script << "set terminal pngcairo noenhanced size 1000,560 font 'sans,10'\n"
         << "set output '" << png_path.string() << "'\n"
         << "set title \"Throughput at " << threads
         << " threads: 1M keys, 16-byte keys and values, scrambled Zipf 0.99\\n"
         << "median of " << context.reps << " runs of " << context.seconds
         << " s; whiskers show min-max\"\n"
         << "set ylabel 'million ops/s'\n"
         << "set xlabel 'workload (reads/writes, %)'\n"
         << "set yrange [0:*]\n"
         << "set grid ytics\n"
         << "set key outside right top\n"
         << "set datafile missing '-'\n"
         << "set style data histograms\n"
         << "set style histogram errorbars gap 1 lw 1\n"
         << "set style fill solid 0.8 border -1\n"
         << "set boxwidth 0.9\n"
         << "plot ";
  for (size_t i = 0; i < systems.size(); ++i) {
    const size_t col = 2 + 3 * i;
    script << (i == 0 ? "'" + data_path.string() + "'" : std::string(", ''")) << " using " << col
           << ':' << col + 1 << ':' << col + 2 << (i == 0 ? ":xtic(1)" : "") << " title '"
           << systems[i] << "'";
  }
  script << '\n';
  const std::filesystem::path script_path = out_dir / "throughput.gp";
  std::ofstream(script_path) << script.str();

  if (RunProcess({gnuplot, script_path.string()}, nullptr) != 0) {
    *why = "gnuplot failed on " + script_path.string();
    return false;
  }
  return true;
}

}  // namespace larder::bench
