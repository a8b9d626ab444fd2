// LruPolicy: victim order under inserts, accesses and removals.
#include <doctest/doctest.h>

#include <cstring>

#include "node_pool.h"
#include "policy/lru_policy.h"

namespace larder {

TEST_CASE("LruPolicy: the least recently inserted or accessed node is the victim") {
  testing::NodePool pool;
  const NodeId sentinel = pool.New();
  LruPolicy lru(pool.space(), 0, sentinel);
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
  LruPolicy lru(pool.space(), 0, pool.New());
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

TEST_CASE("LruPolicy: OnReplace keeps the old position, or moves to the front when promoting") {
  testing::NodePool pool;
  LruPolicy lru(pool.space(), 0, pool.New());
  const NodeId a = pool.New(), b = pool.New(), c = pool.New();
  lru.OnInsert(a, 0);
  lru.OnInsert(b, 0);
  lru.OnInsert(c, 0);  // order, most recent first: c b a
  const NodeId a2 = pool.New();
  lru.OnReplace(a, a2, 0, /*promote=*/false);
  CHECK(lru.Victim() == a2);  // took a's place at the tail
  CHECK(lru.size() == 3);
  const NodeId a3 = pool.New();
  lru.OnReplace(a2, a3, 0, /*promote=*/true);
  CHECK(lru.Victim() == b);  // a3 went to the front
  lru.OnRemove(b);
  CHECK(lru.Victim() == c);
  lru.OnRemove(c);
  CHECK(lru.Victim() == a3);
}

}  // namespace larder
