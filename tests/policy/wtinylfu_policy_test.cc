// WTinyLfuPolicy: window to main transfer, admission, scan resistance, adaptive window, weights.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "policy/wtinylfu_policy.h"
#include "policy_harness.h"

namespace larder {
namespace {

using testing::PolicyHarness;
using Q = WTinyLfuPolicy;

void CheckWeights(PolicyHarness& h) {
  auto& p = h.as<WTinyLfuPolicy>();
  CHECK(p.window_weight() + p.probation_weight() + p.protected_weight() == h.used());
  CHECK(p.size() == h.size());
}

}  // namespace

TEST_CASE("WTinyLfu: new entries enter the window, overflow moves to probation, a hit protects") {
  PolicyHarness h(EvictionPolicyKind::kWTinyLfu, 100);
  auto& p = h.as<WTinyLfuPolicy>();
  CHECK(p.window_max() == 1);  // 1% of 100
  h.Request(1);
  CHECK(p.QueueOf(h.NodeOf(1)) == Q::kWindow);
  h.Request(2);  // window holds one: 1 spills into probation (the main region has room)
  CHECK(p.QueueOf(h.NodeOf(2)) == Q::kWindow);
  CHECK(p.QueueOf(h.NodeOf(1)) == Q::kProbation);
  h.Request(1);  // a hit in probation promotes to protected
  CHECK(p.QueueOf(h.NodeOf(1)) == Q::kProtected);
  h.Request(2);  // a hit in the window stays in the window
  CHECK(p.QueueOf(h.NodeOf(2)) == Q::kWindow);
  CheckWeights(h);
}

TEST_CASE("WTinyLfu: protected overflow is demoted to probation") {
  PolicyHarness h(EvictionPolicyKind::kWTinyLfu, 100);
  auto& p = h.as<WTinyLfuPolicy>();
  for (uint64_t k = 0; k < 100; ++k) h.Request(k);
  for (uint64_t k = 0; k < 99; ++k) h.Request(k);  // promote all of main
  // Protected holds at most 80% of main (99): 79.
  CHECK(p.protected_weight() == 79);
  CHECK(p.probation_weight() + p.protected_weight() + p.window_weight() == 100);
  CheckWeights(h);
}

TEST_CASE("WTinyLfu: a frequent probation entry beats a one-time candidate; a frequent candidate wins") {
  PolicyHarness h(EvictionPolicyKind::kWTinyLfu, 100);
  for (uint64_t k = 0; k < 100; ++k) h.Request(k);  // full; sketch allocated at half full
  for (int i = 0; i < 5; ++i) {
    for (uint64_t k = 0; k < 100; ++k) h.Request(k);
  }
  // New keys seen once lose against established entries: the main region survives them.
  for (uint64_t k = 1000; k < 1050; ++k) h.Request(k);
  int kept = 0;
  for (uint64_t k = 0; k < 100; ++k) kept += h.Contains(k) ? 1 : 0;
  CHECK(kept >= 97);
  // A newcomer requested often enough is admitted.
  for (int i = 0; i < 12; ++i) h.Request(5000);
  CHECK(h.Contains(5000));
  CheckWeights(h);
}

TEST_CASE("WTinyLfu: a one-pass scan does not flush the hot set (LRU loses it all)") {
  const uint64_t capacity = 1000;
  PolicyHarness tiny(EvictionPolicyKind::kWTinyLfu, capacity);
  PolicyHarness lru(EvictionPolicyKind::kLru, capacity);
  std::mt19937_64 rng(7);
  const uint64_t hot = 500;
  for (int i = 0; i < 20'000; ++i) {
    const uint64_t k = rng() % hot;
    tiny.Request(k);
    lru.Request(k);
  }
  for (uint64_t k = 1'000'000; k < 1'000'000 + 10 * capacity; ++k) {
    tiny.Request(k);
    lru.Request(k);
  }
  uint64_t tiny_kept = 0, lru_kept = 0;
  for (uint64_t k = 0; k < hot; ++k) {
    tiny_kept += tiny.Contains(k);
    lru_kept += lru.Contains(k);
  }
  CHECK(lru_kept == 0);
  CHECK(tiny_kept >= hot * 95 / 100);
  CheckWeights(tiny);
}

TEST_CASE("WTinyLfu: the window grows on recency-heavy traffic and shrinks on frequency-heavy") {
  const uint64_t capacity = 500;
  for (PolicyConfig::Window mode :
       {PolicyConfig::Window::kTuned, PolicyConfig::Window::kHillClimbing}) {
    CAPTURE(static_cast<int>(mode));
    {
      // Recency: each key is reused a few times shortly after it first appears, then never.
      PolicyHarness h(EvictionPolicyKind::kWTinyLfu, capacity, true, false, 0, mode);
      auto& p = h.as<WTinyLfuPolicy>();
      const uint64_t initial = p.window_max();
      std::mt19937_64 rng(1);
      uint64_t next = 0;
      std::vector<uint64_t> recent;
      for (int i = 0; i < 400'000; ++i) {
        if (recent.size() < 300 || rng() % 4 == 0) {
          recent.push_back(next++);
          if (recent.size() > 300) recent.erase(recent.begin());
          h.Request(recent.back());
        } else {
          // Mostly the newest keys: recency decides what is reused.
          const uint64_t back = std::min<uint64_t>(
              recent.size() - 1, rng() % 64 + (rng() % 8 == 0 ? rng() % 300 : 0));
          h.Request(recent[recent.size() - 1 - back]);
        }
      }
      CHECK(p.window_max() > initial + capacity / 10);
      CheckWeights(h);
    }
    {
      // Frequency: a fixed popular set under a stream of one-time keys.
      PolicyHarness h(EvictionPolicyKind::kWTinyLfu, capacity, true, false, 0, mode);
      auto& p = h.as<WTinyLfuPolicy>();
      std::mt19937_64 rng(2);
      uint64_t fresh = 1'000'000;
      for (int i = 0; i < 400'000; ++i) {
        if (rng() % 2 == 0) {
          h.Request(rng() % 400);  // popular, spread over time
        } else {
          h.Request(fresh++);
        }
      }
      CHECK(p.window_max() <= capacity / 20);  // stays near its 1% minimum
      CHECK(h.hit_ratio() > 0.4);
      CheckWeights(h);
    }
  }
}

TEST_CASE("WTinyLfu: a fixed window stays where it was put") {
  PolicyHarness h(EvictionPolicyKind::kWTinyLfu, 1000, true, false, 0, PolicyConfig::Window::kFixed);
  auto& p = h.as<WTinyLfuPolicy>();
  CHECK(p.window_max() == 10);
  std::mt19937_64 rng(9);
  for (int i = 0; i < 100'000; ++i) h.Request(rng() % 5000);
  CHECK(p.window_max() == 10);
  p.SetWindowShare(0.5);
  CHECK(p.window_max() == 500);
  CHECK(p.window_weight() == 500);  // filled from the main region at once
  CheckWeights(h);
}

TEST_CASE("WTinyLfu: lazy mode promotes at eviction time and keeps weights exact") {
  PolicyHarness h(EvictionPolicyKind::kWTinyLfu, 200, /*exact=*/false);
  auto& p = h.as<WTinyLfuPolicy>();
  for (uint64_t k = 0; k < 200; ++k) h.Request(k);
  h.Request(3);
  CHECK(p.QueueOf(h.NodeOf(3)) == Q::kProbation);  // marked, not moved
  // Newcomers seen twice outrank the untouched entries, so probation drains towards key 3.
  for (uint64_t k = 1000; k < 1300; ++k) {
    h.Request(k);
    h.Request(k);
  }
  CHECK(h.Contains(3));
  CHECK(p.QueueOf(h.NodeOf(3)) == Q::kProtected);  // promoted when it reached the tail
  std::mt19937_64 rng(3);
  for (int i = 0; i < 50'000; ++i) h.Request(rng() % 600);
  CheckWeights(h);
  CHECK(h.used() <= 200);
}

TEST_CASE("WTinyLfu: weighted capacity, replacements and removals keep region weights exact") {
  PolicyHarness h(EvictionPolicyKind::kWTinyLfu, 10'000, /*exact=*/true, /*weighted=*/true);
  std::mt19937_64 rng(4);
  for (int i = 0; i < 100'000; ++i) {
    const uint64_t k = rng() % 2000;
    const uint64_t w = 1 + rng() % 100;
    const int op = static_cast<int>(rng() % 10);
    if (op == 0 && h.Contains(k)) {
      h.Replace(k, w);
    } else if (op == 1 && h.Contains(k)) {
      h.Remove(k);
    } else {
      h.Request(k, w);
    }
    REQUIRE(h.used() <= 10'000);
  }
  CheckWeights(h);
  CHECK(h.evictions() > 0);
}

}  // namespace larder

namespace larder {

TEST_CASE("WindowTuner: samples keys for large caches and moves to the share that hits most") {
  WindowTuner small(1000, 1000, false);
  CHECK(small.sampling_rate() == 2);  // 1000 entries: shadows of ~500
  WindowTuner large(1'000'000, 1'000'000, false);
  CHECK(large.sampling_rate() == 2048);
  // A scan-free stream where the newest keys are the ones reused: a bigger window hits more.
  WindowTuner t(200, 200, false);
  CHECK(t.sampling_rate() == 1);
  CHECK(t.share() == WindowTuner::kShares[0]);
  std::mt19937_64 rng(11);
  uint64_t next = 1;
  for (int i = 0; i < 200'000; ++i) {
    const uint64_t key = rng() % 3 == 0 ? next++ : next - 1 - rng() % std::min<uint64_t>(next, 150);
    t.Record(testing::TestHash(key), 1);
  }
  CHECK(t.share() >= WindowTuner::kShares[2]);
  CHECK(t.periods() > 100);
}

}  // namespace larder
