// MachineInfo gathering from /proc/cpuinfo, uname and the compiler's own macros.
#include "machine.h"

#include <sys/utsname.h>

#include <array>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>

namespace larder::bench {
namespace {

std::string CpuModel() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) break;
    const size_t start = line.find_first_not_of(' ', colon + 1);
    return start == std::string::npos ? std::string() : line.substr(start);
  }
  return "unknown";
}

std::string Compiler() {
#if defined(__clang__)
  return std::string("clang++ ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf.data();
}

}  // namespace

std::string MachineInfo::Summary() const {
  return cpu_model + ", " + std::to_string(cores) + " cores, " + kernel + ", " + compiler;
}

MachineInfo DescribeMachine(double tsc_ghz) {
  MachineInfo m;
  m.cpu_model = CpuModel();
  m.cores = static_cast<int>(std::thread::hardware_concurrency());
  utsname u{};
  if (uname(&u) == 0) m.kernel = std::string(u.sysname) + " " + u.release;
  m.compiler = Compiler();
  m.date = UtcNow();
  m.tsc_ghz = tsc_ghz;
  return m;
}

}  // namespace larder::bench
