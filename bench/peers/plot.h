// The throughput chart: grouped bars drawn by gnuplot.
#pragma once

#include <filesystem>
#include <string>

#include "report.h"
#include "results.h"

namespace larder::bench {

// Writes OUT/throughput.dat and OUT/throughput.gp and runs gnuplot to draw OUT/throughput.png:
// one group per mix at `threads`, one bar per system (median Mops/s, min-max error bars).
// Returns false and sets *why when gnuplot is not on PATH, there is nothing to draw, or it fails.
bool DrawThroughputPlot(const Results& results, const ReportContext& context, int threads,
                        const std::filesystem::path& out_dir, std::string* why);

}  // namespace larder::bench
