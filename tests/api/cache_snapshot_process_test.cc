// Snapshots across process ends: a final snapshot saved on SIGTERM, and saves killed with
// SIGKILL at random points (the previous snapshot must stay intact, the partial one invisible).
// The child is tests/helpers/process_child, started with posix_spawn.
#include <doctest/doctest.h>
#include <signal.h>

#include <random>
#include <string>
#include <thread>

#include "cache_fixture.h"
#include "child_process.h"
#include "temp_dir.h"

namespace larder::testing {
namespace {

std::string ChildValue(int i) {  // as process_child's ValueFor
  return "value-" + std::to_string(i * 7919) + std::string(i % 64, 'v');
}

using Child = ChildProcess;

TEST_CASE("SIGTERM saves a final snapshot through the exit hook, then ends the process") {
  TempDir tmp;
  Child child("kv-sigterm", tmp.File("snap"), "1000");
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
    Child child("kv-save-loop", dir, std::to_string(kEntries));
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
