// A child process for snapshot tests that must end a process (signals, SIGKILL mid-save).
// Tests run it with fork+exec, never plain fork: RocksDB's background threads do not survive a
// fork.
//
//   snapshot_child sigterm DIR N     fill N entries, save a final snapshot on SIGTERM, raise it
//   snapshot_child save-loop DIR N   fill N entries, save snapshots forever (keep_last 3),
//                                    printing "saved ID" after each
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "larder/cache.h"

namespace {

// The value stored under key i; tests recompute it to check what they load.
std::string ValueFor(int i) { return "value-" + std::to_string(i * 7919) + std::string(i % 64, 'v'); }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: snapshot_child sigterm|save-loop DIR N\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::string dir = argv[2];
  const int n = std::atoi(argv[3]);
  auto opened = larder::Cache::Open({});
  if (!opened.ok()) return 3;
  larder::Cache& cache = **opened;
  for (int i = 0; i < n; ++i) {
    if (!cache.Set("key:" + std::to_string(i), ValueFor(i)).ok()) return 3;
  }
  if (mode == "sigterm") {
    for (int i = 0; i < 3; ++i) {  // installing again is harmless: the last hook counts
      cache.HandleProcessSignals([&](larder::Cache& c) {
        if (!c.SaveSnapshot(dir, {.name = "final"}).ok()) _exit(4);
      });
    }
    raise(SIGTERM);
    for (;;) pause();  // the signal's default action ends us
  }
  if (mode == "save-loop") {
    for (;;) {
      auto saved = cache.SaveSnapshot(dir, {.keep_last = 3});
      if (!saved.ok()) {
        std::fprintf(stderr, "%s\n", saved.status().ToString().c_str());
        return 5;
      }
      std::printf("saved %llu\n", static_cast<unsigned long long>(saved->id));
      std::fflush(stdout);
    }
  }
  return 2;
}
