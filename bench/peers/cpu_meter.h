// ForeignCpuMeter: how much CPU other processes took while a run was being timed.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace larder::bench {

// Compares machine-wide busy time (/proc/stat, steal included) with the CPU time of this process
// and of its helper processes (a peer's server), so a run that shared the cores with someone
// else can be recognised. Resolution is one scheduler tick (10 ms).
class ForeignCpuMeter {
 public:
  // Starts measuring; `helpers` are processes whose CPU time counts as ours.
  explicit ForeignCpuMeter(std::vector<pid_t> helpers);

  // The share of all CPUs' time since construction that went to other processes, in [0, 1].
  double ForeignShare() const;

 private:
  struct Sample {
    uint64_t busy = 0;   // ticks, all CPUs, not idle
    uint64_t total = 0;  // ticks, all CPUs
    uint64_t ours = 0;   // ticks of this process and the helpers
  };
  Sample Take() const;

  std::vector<pid_t> helpers_;
  Sample start_;
};

}  // namespace larder::bench
