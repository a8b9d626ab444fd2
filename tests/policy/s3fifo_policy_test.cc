// S3FifoPolicy and GhostSet.
#include <doctest/doctest.h>

#include <random>

#include "policy/s3fifo_policy.h"
#include "policy_harness.h"

namespace larder {

TEST_CASE("GhostSet: remembers the last `capacity` insertions, each taken once") {
  GhostSet g;
  g.Reset(64);
  for (uint32_t h = 1; h <= 64; ++h) g.Insert(h * 2654435761u);
  CHECK(g.Take(64 * 2654435761u));
  CHECK_FALSE(g.Take(64 * 2654435761u));  // taken
  for (uint32_t h = 100; h < 300; ++h) g.Insert(h * 2654435761u);
  CHECK_FALSE(g.Take(1 * 2654435761u));  // older than the last 64 insertions
}

TEST_CASE("S3Fifo: one-hit entries leave from the small queue; accessed ones move to main") {
  testing::PolicyHarness h(EvictionPolicyKind::kS3Fifo, 100);
  auto& p = h.as<S3FifoPolicy>();
  for (uint64_t k = 0; k < 100; ++k) h.Request(k);
  h.Request(0);  // frequency 1
  CHECK(p.Frequency(h.NodeOf(0)) == 1);
  for (uint64_t k = 1000; k < 1010; ++k) h.Request(k);  // evicts from small (it holds > 10%)
  CHECK(h.Contains(0));
  CHECK(p.InMain(h.NodeOf(0)));
  CHECK_FALSE(h.Contains(1));
  // Key 1 was evicted from small into the ghost: coming back, it goes straight to main.
  h.Request(1);
  CHECK(p.InMain(h.NodeOf(1)));
  CHECK(h.used() <= 100);
}

TEST_CASE("S3Fifo: a saturated frequency tells readers to stop recording") {
  testing::PolicyHarness h(EvictionPolicyKind::kS3Fifo, 10);
  h.Request(1);
  for (int i = 0; i < 3; ++i) {
    CHECK((h.Node(h.NodeOf(1))->state.load() & kNodeSkipReads) == 0);
    h.Request(1);
  }
  CHECK((h.Node(h.NodeOf(1))->state.load() & kNodeSkipReads) != 0);
  CHECK((h.Node(h.NodeOf(1))->state.load() & kNodeLinked) != 0);
}

TEST_CASE("S3Fifo: bounded under random traffic, weighted") {
  testing::PolicyHarness h(EvictionPolicyKind::kS3Fifo, 5000, true, /*weighted=*/true);
  std::mt19937_64 rng(5);
  for (int i = 0; i < 50'000; ++i) {
    h.Request(rng() % 1000, 1 + rng() % 50);
    REQUIRE(h.used() <= 5000);
  }
  CHECK(h.policy().size() == h.size());
}

}  // namespace larder
