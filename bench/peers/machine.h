// MachineInfo: what the benchmark ran on, for results and the docs.
#pragma once

#include <string>

namespace larder::bench {

struct MachineInfo {
  std::string cpu_model;  // /proc/cpuinfo "model name"
  int cores = 0;          // hardware threads the OS reports
  std::string kernel;     // uname: "Linux 6.1.0-..."
  std::string compiler;   // the compiler that built this binary
  std::string date;       // UTC, "2024-05-01T12:00:00Z"
  double tsc_ghz = 0;     // calibrated TSC rate

  // One line: "Intel Xeon ..., 2 cores, Linux 6.1, g++ 12.2.0".
  std::string Summary() const;
};

MachineInfo DescribeMachine(double tsc_ghz);

}  // namespace larder::bench
