// Snapshots across process ends: a final snapshot saved on SIGTERM, and saves killed with
// SIGKILL at random points (the previous snapshot must stay intact, the partial one invisible).
// The child is tests/helpers/snapshot_child, started with posix_spawn.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache_fixture.h"
#include "temp_dir.h"

extern char** environ;

namespace larder::testing {
namespace {

std::string ChildValue(int i) {  // as snapshot_child's ValueFor
  return "value-" + std::to_string(i * 7919) + std::string(i % 64, 'v');
}

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;  // the child's stdout

  Child(const std::string& mode, const std::string& dir, int n) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    const std::string count = std::to_string(n);
    std::vector<char*> argv = {const_cast<char*>(LARDER_SNAPSHOT_CHILD),
                               const_cast<char*>(mode.c_str()), const_cast<char*>(dir.c_str()),
                               const_cast<char*>(count.c_str()), nullptr};
    REQUIRE(posix_spawn(&pid, LARDER_SNAPSHOT_CHILD, &actions, nullptr, argv.data(), environ) ==
            0);
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out = fdopen(fds[0], "r");
  }
  ~Child() {
    if (out != nullptr) fclose(out);
  }
  // The next "saved ID" line, or 0 at end of output.
  uint64_t NextSave() {
    unsigned long long id = 0;
    return std::fscanf(out, "saved %llu\n", &id) == 1 ? id : 0;
  }
  int Wait() {
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
  }
};

TEST_CASE("SIGTERM saves a final snapshot through the exit hook, then ends the process") {
  TempDir tmp;
  Child child("sigterm", tmp.File("snap"), 1000);
  const int status = child.Wait();
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGTERM);
  ManualCache b;
  Result<LoadSnapshotResult> r = b->LoadSnapshot(tmp.File("snap"), {.name = "final"});
  REQUIRE_MESSAGE(r.ok(), r.status().ToString());
  CHECK(r->loaded == 1000);
  CHECK(r->snapshot.id == 1);  // saved once, however often the handler was installed
  CHECK(b.Value("key:999") == ChildValue(999));
}

TEST_CASE("a save killed at random points leaves the earlier snapshots intact (20 kills)") {
  TempDir tmp;
  const std::string dir = tmp.File("snap");
  constexpr int kEntries = 100'000;
  std::mt19937 rng(20261121);
  uint64_t last_seen = 0;
  for (int round = 0; round < 20; ++round) {
    INFO("round " << round);
    Child child("save-loop", dir, kEntries);
    // Let it complete at least one save, then kill it somewhere inside a later one.
    const uint64_t first = child.NextSave();
    REQUIRE(first > last_seen);
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 150'000));
    kill(child.pid, SIGKILL);
    const int status = child.Wait();
    REQUIRE(WIFSIGNALED(status));
    uint64_t completed = first;
    while (uint64_t id = child.NextSave()) completed = id;
    last_seen = completed;

    // Every listed snapshot loads in full; the newest is at least the last one reported.
    ManualCache b;
    Result<LoadSnapshotResult> newest = b->LoadSnapshot(dir);
    REQUIRE_MESSAGE(newest.ok(), newest.status().ToString());
    CHECK(newest->snapshot.id >= completed);
    CHECK(newest->loaded == kEntries);
    for (int i = 0; i < kEntries; i += 997) CHECK(b.Value("key:" + std::to_string(i)) == ChildValue(i));
    for (uint64_t id = newest->snapshot.id - 1; id + 3 > newest->snapshot.id && id > 0; --id) {
      ManualCache older;
      Result<LoadSnapshotResult> r = older->LoadSnapshot(dir, {.id = id});
      if (r.status().code() == Status::Code::kNotFound) continue;  // pruned
      REQUIRE_MESSAGE(r.ok(), r.status().ToString());
      CHECK(r->loaded == kEntries);
    }
  }
}

}  // namespace
}  // namespace larder::testing
