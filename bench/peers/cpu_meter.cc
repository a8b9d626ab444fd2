// ForeignCpuMeter: /proc/stat against /proc/<pid>/stat.
#include "cpu_meter.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace larder::bench {
namespace {

// utime + stime of a process, in ticks; 0 when it cannot be read.
uint64_t ProcessTicks(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  if (!std::getline(in, line)) return 0;
  // Fields after the command name (which may hold spaces) start at the last ')'.
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(line.substr(paren + 2));
  std::string skip;
  for (int i = 3; i < 14; ++i) fields >> skip;  // state .. cmajflt (fields 3-13)
  uint64_t utime = 0;
  uint64_t stime = 0;
  fields >> utime >> stime;
  return utime + stime;
}

}  // namespace

ForeignCpuMeter::ForeignCpuMeter(std::vector<pid_t> helpers)
    : helpers_(std::move(helpers)), start_(Take()) {}

ForeignCpuMeter::Sample ForeignCpuMeter::Take() const {
  Sample s;
  std::ifstream in("/proc/stat");
  std::string cpu;
  in >> cpu;  // "cpu": the all-CPU line
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  in >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
  s.busy = user + nice + system + irq + softirq + steal;
  s.total = s.busy + idle + iowait;
  s.ours = ProcessTicks("/proc/self/stat");
  for (pid_t pid : helpers_) s.ours += ProcessTicks("/proc/" + std::to_string(pid) + "/stat");
  return s;
}

double ForeignCpuMeter::ForeignShare() const {
  const Sample end = Take();
  const uint64_t total = end.total - start_.total;
  if (total == 0) return 0;
  const int64_t foreign =
      static_cast<int64_t>(end.busy - start_.busy) - static_cast<int64_t>(end.ours - start_.ours);
  return foreign <= 0 ? 0 : static_cast<double>(foreign) / static_cast<double>(total);
}

}  // namespace larder::bench
