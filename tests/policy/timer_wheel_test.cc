// TimerWheel: never early, prompt, O(1) cancel/reschedule, every level, far future.
#include <doctest/doctest.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "node_pool.h"
#include "policy/timer_wheel.h"

namespace larder {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kTick = int64_t{1} << TimerWheel::kTickShift;

struct Fixture {
  testing::NodePool pool;
  NodeId sentinels = pool.New(TimerWheel::kSentinelCount * 16);
  TimerWheel wheel{pool.space(), 8, sentinels, 0};
  std::map<NodeId, int64_t> deadline;  // what an owner would store in the entry
  std::map<NodeId, int64_t> fired;     // node -> time it was expired

  NodeId Add(int64_t d) {
    const NodeId n = pool.New();
    deadline[n] = d;
    wheel.Schedule(n, d);
    return n;
  }
  // Advances like the engine does: expire when due, otherwise schedule again.
  size_t AdvanceTo(int64_t now) {
    return wheel.Advance(now, [&](NodeId n) {
      if (now >= deadline[n]) {
        fired[n] = now;
      } else {
        wheel.Schedule(n, deadline[n]);
      }
    });
  }
};

}  // namespace

TEST_CASE("TimerWheel: a node is not expired before its deadline and is expired right after") {
  Fixture f;
  const NodeId n = f.Add(50 * kMs);
  CHECK(f.wheel.Scheduled(n));
  CHECK(f.wheel.size() == 1);
  f.AdvanceTo(49 * kMs);
  CHECK(f.fired.empty());
  f.AdvanceTo(50 * kMs + 2 * kTick);
  REQUIRE(f.fired.count(n) == 1);
  CHECK_FALSE(f.wheel.Scheduled(n));
  CHECK(f.wheel.size() == 0);
}

TEST_CASE("TimerWheel: cancel and reschedule are O(1) unlinks") {
  Fixture f;
  const NodeId a = f.Add(10 * kMs);
  const NodeId b = f.Add(10 * kMs);
  f.wheel.Cancel(a);
  f.wheel.Cancel(a);  // cancelling twice is harmless
  CHECK_FALSE(f.wheel.Scheduled(a));
  f.deadline[b] = 500 * kMs;
  f.wheel.Schedule(b, 500 * kMs);  // moves it
  CHECK(f.wheel.size() == 1);
  f.AdvanceTo(100 * kMs);
  CHECK(f.fired.empty());
  f.AdvanceTo(501 * kMs + kTick);
  CHECK(f.fired.count(b) == 1);
  CHECK(f.fired.count(a) == 0);
}

TEST_CASE("TimerWheel: a past deadline comes due at the next tick, not a lap later") {
  Fixture f;
  f.AdvanceTo(100 * kMs);
  const NodeId n = f.Add(90 * kMs);
  f.AdvanceTo(100 * kMs + kTick);
  CHECK(f.fired.count(n) == 1);
}

TEST_CASE("TimerWheel: deadlines on every level fire once, never early, within one step") {
  Fixture f;
  std::mt19937_64 rng(7);
  std::vector<NodeId> nodes;
  // From a fraction of a tick to about two weeks: exercises levels 0..5.
  for (int i = 0; i < 3000; ++i) {
    const int level_shift = 10 + static_cast<int>(rng() % 41);  // 2^10 .. 2^50 ns
    const int64_t d = 1 + static_cast<int64_t>(rng() % (uint64_t{1} << level_shift));
    nodes.push_back(f.Add(d));
  }
  int64_t now = 0;
  int64_t max_step = 0;
  while (f.fired.size() < nodes.size()) {
    // Steps of varying size: small ones around the start, huge ones later.
    const int64_t step = 1 + static_cast<int64_t>(rng() % (uint64_t{1} << (20 + rng() % 28)));
    max_step = std::max(max_step, step);
    now += step;
    f.AdvanceTo(now);
    for (const auto& [n, t] : f.fired) REQUIRE(t >= f.deadline[n]);
  }
  CHECK(f.wheel.size() == 0);
  for (NodeId n : nodes) {
    // Expired at the first advance that reached the deadline's tick, never later.
    CHECK(f.fired[n] - f.deadline[n] <= max_step + kTick);
  }
}

TEST_CASE("TimerWheel: a deadline beyond the top level is parked and not fired early") {
  Fixture f;
  const int64_t year = int64_t{365} * 24 * 3600 * 1'000'000'000;
  const NodeId n = f.Add(int64_t{200} * year);
  f.AdvanceTo(int64_t{100} * year);
  CHECK(f.fired.empty());
  CHECK(f.wheel.Scheduled(n));
  f.AdvanceTo(int64_t{200} * year + 1);
  f.AdvanceTo(int64_t{201} * year);
  CHECK(f.fired.count(n) == 1);
}

TEST_CASE("TimerWheel: a moved (sliding) deadline is rescheduled by the owner, not expired") {
  Fixture f;
  const NodeId n = f.Add(20 * kMs);
  f.deadline[n] = 80 * kMs;  // the owner extended it without telling the wheel
  f.AdvanceTo(30 * kMs);
  CHECK(f.fired.empty());
  CHECK(f.wheel.Scheduled(n));
  f.AdvanceTo(81 * kMs + kTick);
  CHECK(f.fired.count(n) == 1);
}

}  // namespace larder

namespace larder {

TEST_CASE("TimerWheel: Replace with a later deadline takes the old bucket, never fires late") {
  Fixture f;
  const NodeId old = f.Add(50 * kMs);
  const NodeId fresh = f.pool.New();
  f.deadline[fresh] = 80 * kMs;
  f.wheel.Replace(old, 50 * kMs, fresh, 80 * kMs);
  CHECK_FALSE(f.wheel.Scheduled(old));
  CHECK(f.wheel.Scheduled(fresh));
  CHECK(f.wheel.size() == 1);
  f.AdvanceTo(60 * kMs);  // the old bucket came due: fresh is handed out early, rescheduled
  CHECK(f.fired.empty());
  CHECK(f.wheel.Scheduled(fresh));
  f.AdvanceTo(80 * kMs + 2 * kTick);
  CHECK(f.fired.count(fresh) == 1);
  CHECK(f.fired.count(old) == 0);
}

TEST_CASE("TimerWheel: Replace with an earlier deadline reschedules so it is not late") {
  Fixture f;
  const NodeId old = f.Add(500 * kMs);
  const NodeId fresh = f.pool.New();
  f.deadline[fresh] = 20 * kMs;
  f.wheel.Replace(old, 500 * kMs, fresh, 20 * kMs);
  f.AdvanceTo(20 * kMs + 2 * kTick);
  CHECK(f.fired.count(fresh) == 1);
  CHECK(f.wheel.size() == 0);
}

TEST_CASE("TimerWheel: Replace of an unscheduled node schedules the new one") {
  Fixture f;
  const NodeId old = f.pool.New();
  const NodeId fresh = f.pool.New();
  f.deadline[fresh] = 10 * kMs;
  f.wheel.Replace(old, 0, fresh, 10 * kMs);
  CHECK(f.wheel.Scheduled(fresh));
  f.AdvanceTo(10 * kMs + 2 * kTick);
  CHECK(f.fired.count(fresh) == 1);
}

}  // namespace larder
