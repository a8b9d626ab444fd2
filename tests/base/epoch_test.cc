// Epoch-based reclamation: ordinals, read sections blocking reclamation, nesting.
#include <doctest/doctest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "base/epoch.h"

namespace larder::epoch {

TEST_CASE("epoch: live threads have distinct ordinals") {
  constexpr int kThreads = 8;
  std::vector<uint32_t> ordinals(kThreads);
  std::atomic<int> registered{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      ordinals[i] = ThreadOrdinal();
      registered.fetch_add(1);
      while (!release.load()) std::this_thread::yield();
    });
  }
  while (registered.load() != kThreads) std::this_thread::yield();
  release.store(true);
  for (auto& t : threads) t.join();
  std::set<uint32_t> distinct(ordinals.begin(), ordinals.end());
  CHECK(distinct.size() == kThreads);
}

TEST_CASE("epoch: a read section entered before a retirement blocks its reclamation") {
  std::atomic<int> phase{0};
  std::thread reader([&] {
    Enter();
    phase.store(1);
    while (phase.load() != 2) std::this_thread::yield();
    Exit();
    phase.store(3);
  });
  while (phase.load() != 1) std::this_thread::yield();
  const uint64_t tag = RetireTag();  // "unlinked" while the reader is inside
  for (int i = 0; i < 10; ++i) CHECK_FALSE(Reclaimable(tag, TryAdvance()));
  phase.store(2);
  while (phase.load() != 3) std::this_thread::yield();
  TryAdvance();
  CHECK(Reclaimable(tag, TryAdvance()));
  reader.join();
}

TEST_CASE("epoch: nested sections end at the outermost Exit") {
  Enter();
  Enter();
  CHECK(InReadSection());
  const uint64_t tag = RetireTag();
  Exit();
  CHECK(InReadSection());
  // This thread still announces an epoch <= tag.
  CHECK_FALSE(Reclaimable(tag, TryAdvance()));
  Exit();
  CHECK_FALSE(InReadSection());
  TryAdvance();
  CHECK(Reclaimable(tag, TryAdvance()));
}

TEST_CASE("epoch: Synchronize returns once earlier retirements are reclaimable") {
  const uint64_t tag = RetireTag();
  Synchronize();
  CHECK(Reclaimable(tag, SafeEpoch()));
}

TEST_CASE("epoch: sections started after a retirement do not block it") {
  const uint64_t tag = RetireTag();
  TryAdvance();
  TryAdvance();
  Guard guard;  // announces an epoch past the tag
  CHECK(Reclaimable(tag, TryAdvance()));
}

}  // namespace larder::epoch
