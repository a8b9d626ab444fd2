// A child process for tests that must end a process (signals, SIGKILL mid-save). Tests start it
// with posix_spawn (tests/child_process.h), never plain fork: RocksDB's background threads do
// not survive a fork, and ThreadSanitizer refuses new threads after a multi-threaded fork.
//
//   process_child kv-sigterm DIR N      fill N entries, save a final snapshot on SIGTERM, raise it
//   process_child kv-save-loop DIR N    fill N entries, save snapshots forever (keep_last 3),
//                                       printing "saved ID" after each
//   process_child record-sigterm DB OUT a RecordCache over SQLite table `users` of DB; on SIGTERM
//                                       the exit hook writes its Size() to OUT; raise SIGTERM
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "larder/cache.h"
#include "larder/record_cache.h"
#include "larder/sqlite_source.h"

namespace {

// The value stored under key i; tests recompute it to check what they load.
std::string ValueFor(int i) { return "value-" + std::to_string(i * 7919) + std::string(i % 64, 'v'); }

[[noreturn]] void RaiseAndWait(int signo) {
  raise(signo);
  for (;;) pause();  // the signal's default action ends us
}

int RecordSigterm(const std::string& db, const std::string& out) {
  auto source = larder::SqliteSource::Open({.path = db, .table = "users"});
  if (!source.ok()) return 3;
  auto cache = larder::RecordCache::Open(*source, {.key_fields = {{"email", true}}});
  if (!cache.ok() || !(*cache)->AutoLoad().ok()) return 3;
  for (int i = 0; i < 3; ++i) {  // installing again is harmless: the last hook counts
    (*cache)->HandleProcessSignals([&](larder::RecordCache& c) { std::ofstream(out) << c.Size(); });
  }
  RaiseAndWait(SIGTERM);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: process_child MODE ARG ARG (see the top of the source)\n");
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "record-sigterm") return RecordSigterm(argv[2], argv[3]);
  const std::string dir = argv[2];
  const int n = std::atoi(argv[3]);
  auto opened = larder::Cache::Open({});
  if (!opened.ok()) return 3;
  larder::Cache& cache = **opened;
  for (int i = 0; i < n; ++i) {
    if (!cache.Set("key:" + std::to_string(i), ValueFor(i)).ok()) return 3;
  }
  if (mode == "kv-sigterm") {
    for (int i = 0; i < 3; ++i) {  // installing again is harmless: the last hook counts
      cache.HandleProcessSignals([&](larder::Cache& c) {
        if (!c.SaveSnapshot(dir, {.name = "final"}).ok()) _exit(4);
      });
    }
    RaiseAndWait(SIGTERM);
  }
  if (mode == "kv-save-loop") {
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
