// LruPolicy: victim order under inserts, accesses and removals.
#include <doctest/doctest.h>

#include <cstring>

#include "node_pool.h"
#include "policy/lru_policy.h"
#include "policy_harness.h"

namespace larder {
namespace {

PolicyConfig LruConfig(testing::NodePool& pool, bool exact = true) {
  PolicyConfig c;
  c.space = pool.space();
  c.hook_offset = 0;
  c.state_offset = 8;
  c.sentinels = pool.New();
  c.exact = exact;
  return c;
}

}  // namespace

TEST_CASE("LruPolicy: the least recently inserted or accessed node is the victim") {
  testing::NodePool pool;
  LruPolicy lru(LruConfig(pool));
  CHECK(lru.Victim() == kNoNode);

  const NodeId a = pool.New(), b = pool.New(), c = pool.New();
  lru.OnInsert(a, 1);
  lru.OnInsert(b, 2);
  lru.OnInsert(c, 3);
  CHECK(lru.size() == 3);
  CHECK(lru.Victim() == a);

  lru.OnAccess(a, 1);  // a becomes most recent
  CHECK(lru.Victim() == b);

  lru.OnRemove(b);
  CHECK(lru.Victim() == c);
  CHECK(lru.size() == 2);

  lru.OnAccess(a, 1);  // already most recent: no change
  CHECK(lru.Victim() == c);
  lru.OnRemove(c);
  CHECK(lru.Victim() == a);
  lru.OnRemove(a);
  CHECK(lru.Victim() == kNoNode);
  CHECK(lru.size() == 0);
}

TEST_CASE("LruPolicy: a long access sequence matches a reference LRU") {
  testing::NodePool pool;
  LruPolicy lru(LruConfig(pool));
  std::vector<NodeId> nodes;
  for (int i = 0; i < 64; ++i) {
    nodes.push_back(pool.New());
    lru.OnInsert(nodes.back(), i);
  }
  std::vector<NodeId> reference(nodes.rbegin(), nodes.rend());  // front = most recent
  uint32_t x = 12345;
  for (int step = 0; step < 5000; ++step) {
    x = x * 1103515245 + 12345;
    const NodeId n = nodes[(x >> 8) % nodes.size()];
    lru.OnAccess(n, 0);
    std::erase(reference, n);
    reference.insert(reference.begin(), n);
    REQUIRE(lru.Victim() == reference.back());
  }
}

}  // namespace larder

namespace larder {

TEST_CASE("LruPolicy: OnReplace moves to the front when exact, marks in place when lazy") {
  testing::NodePool pool;
  LruPolicy lazy(LruConfig(pool, /*exact=*/false));
  const NodeId x = pool.New(), y = pool.New();
  lazy.OnInsert(x, 0);
  lazy.OnInsert(y, 0);
  const NodeId x2 = pool.New();
  lazy.OnReplace(x, x2, 0);  // took x's place at the tail, marked
  CHECK((NodeState(pool.space(), 8, x2).load() & kNodeSkipReads) != 0);
  CHECK(lazy.Victim() == y);  // x2's mark bought it a second chance
  CHECK((NodeState(pool.space(), 8, x2).load() & kNodeSkipReads) == 0);

  LruPolicy lru(LruConfig(pool));
  const NodeId a = pool.New(), b = pool.New(), c = pool.New();
  lru.OnInsert(a, 0);
  lru.OnInsert(b, 0);
  lru.OnInsert(c, 0);  // order, most recent first: c b a
  const NodeId a3 = pool.New();
  lru.OnReplace(a, a3, 0);
  CHECK(lru.size() == 3);
  CHECK(lru.Victim() == b);  // a3 went to the front
  lru.OnRemove(b);
  CHECK(lru.Victim() == c);
  lru.OnRemove(c);
  CHECK(lru.Victim() == a3);
}

}  // namespace larder

namespace larder {

TEST_CASE("LruPolicy: lazy mode marks on access and gives marked tails a second chance") {
  testing::PolicyHarness h(EvictionPolicyKind::kLru, 3, /*exact=*/false);
  h.Request(1);
  h.Request(2);
  h.Request(3);
  CHECK(h.Request(1));  // marks 1 instead of moving it
  CHECK((h.Node(h.NodeOf(1))->state.load() & kNodeSkipReads) != 0);
  h.Request(4);  // evicts: 1 is at the tail but marked, so 2 goes
  CHECK(h.Contains(1));
  CHECK_FALSE(h.Contains(2));
  CHECK((h.Node(h.NodeOf(1))->state.load() & kNodeSkipReads) == 0);  // the chance used the mark
  CHECK((h.Node(h.NodeOf(1))->state.load() & kNodeLinked) != 0);      // engine bit untouched
}

}  // namespace larder
