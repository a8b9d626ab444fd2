// Backplane over the in-process PubSub: what travels, what does not, own messages, gaps and
// reconnections answered by resyncs.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/coord.h"

namespace larder {
namespace {

constexpr Duration kSec = std::chrono::seconds(1);

std::unique_ptr<Cache> NewCache(std::shared_ptr<ManualClock> clock) {
  CacheOptions o;
  o.clock = std::move(clock);
  o.maintenance_interval = Duration::zero();
  Result<std::unique_ptr<Cache>> c = Cache::Open(std::move(o));
  REQUIRE(c.ok());
  return std::move(*c);
}

// Two instances of the cache "users" and a third of another name, on one bus.
struct Cluster {
  Cluster() {
    Result<std::unique_ptr<PubSub>> b = NewLocalPubSub();
    REQUIRE(b.ok());
    bus = std::move(*b);
    for (auto* c : {&a, &b_cache, &other}) *c = NewCache(clock);
    a_plane = Attach(*a, "users");
    b_plane = Attach(*b_cache, "users");
    other_plane = Attach(*other, "orders");
  }
  std::unique_ptr<Backplane> Attach(Cache& cache, const std::string& name,
                                    ResyncMode mode = ResyncMode::kMarkStale) {
    Result<std::unique_ptr<Backplane>> p =
        Backplane::Attach(cache, *bus, {.name = name, .resync = mode,
                                        .on_resync = [this](ResyncReason) { ++resyncs; }});
    REQUIRE(p.ok());
    return std::move(*p);
  }
  // Everything sent so far has been delivered and applied.
  void Settle() {
    for (Backplane* p : {a_plane.get(), b_plane.get(), other_plane.get()}) p->WaitUntilSent();
    REQUIRE(bus->Flush().ok());
  }
  // Fills every cache with the same keys, without telling anyone (as loads do).
  void Load(const std::vector<std::string>& keys, const WriteOptions& w = {}) {
    for (Cache* c : {a.get(), b_cache.get(), other.get()}) {
      for (const std::string& k : keys) {
        REQUIRE(c->GetOrSet(k, [] { return Result<std::string>(std::string("v")); }, w).ok());
      }
    }
    Settle();
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<PubSub> bus;
  std::unique_ptr<Cache> a, b_cache, other;
  std::atomic<int> resyncs{0};
  std::unique_ptr<Backplane> a_plane, b_plane, other_plane;
};

}  // namespace

TEST_CASE("Backplane: a write, delete, pattern, tag or clear in one instance reaches the others") {
  Cluster c;
  c.Load({"u:1", "u:2", "list:1", "list:2", "t:1"}, {.tags = {"team"}});
  CHECK(c.b_plane->GetStats().received == 0);  // loads do not travel

  REQUIRE(c.a->Set("u:1", "new").ok());  // the others drop their copy
  CHECK(c.a->Delete("u:2"));
  CHECK(*c.a->InvalidatePattern("list:*") == 2);
  c.Settle();
  CHECK_FALSE(c.b_cache->Exists("u:1"));
  CHECK_FALSE(c.b_cache->Exists("u:2"));
  CHECK_FALSE(c.b_cache->Exists("list:1"));
  CHECK(c.b_cache->Exists("t:1"));
  CHECK(c.a->Exists("u:1"));  // its own write stays: its own messages are ignored
  CHECK(c.other->Exists("u:1"));  // another cache name hears nothing
  const BackplaneStats b = c.b_plane->GetStats();
  CHECK(b.received == 3);  // the key, the key, the pattern (not each key it removed)
  CHECK(b.applied == 3);
  CHECK(c.a_plane->GetStats().own_ignored == 3);
  CHECK(c.a_plane->GetStats().published == 3);

  CHECK(c.b_cache->InvalidateByTag("team") == 1);  // t:1 (the others were removed already)
  c.Settle();
  CHECK_FALSE(c.a->Exists("t:1"));
  REQUIRE(c.b_cache->Set("x", "1").ok());
  c.Settle();
  c.a->Clear();
  c.Settle();
  CHECK(c.b_cache->Size() == 0);
  CHECK(c.resyncs == 0);
}

TEST_CASE("Backplane: a delete of a key this instance never held still reaches the others") {
  Cluster c;
  REQUIRE(c.b_cache->GetOrSet("only-b", [] { return Result<std::string>(std::string("v")); })
              .ok());
  CHECK_FALSE(c.a->Delete("only-b"));  // a holds nothing: removed nowhere here
  const std::string_view keys[] = {"only-b:2", "absent"};
  REQUIRE(c.b_cache->GetOrSet("only-b:2", [] { return Result<std::string>(std::string("v")); })
              .ok());
  CHECK(c.a->DeleteMany(keys) == 0);
  c.Settle();
  CHECK_FALSE(c.b_cache->Exists("only-b"));
  CHECK_FALSE(c.b_cache->Exists("only-b:2"));
  CHECK(c.a_plane->GetStats().published == 3);
}

TEST_CASE("Backplane: applied changes are not sent back, so nothing echoes") {
  Cluster c;
  c.Load({"k"});
  REQUIRE(c.a->Set("k", "1").ok());
  c.Settle();
  c.Settle();  // had b re-sent what it applied, a would now receive it
  CHECK(c.a_plane->GetStats().received == 0);
  CHECK(c.b_plane->GetStats().published == 0);
}

TEST_CASE("Backplane: a lost message is a gap, and the receiver resyncs") {
  Cluster c;
  c.Load({"plain:1", "plain:2"});
  REQUIRE(c.b_cache->GetWithStale("swr", [] { return Result<std::string>(std::string("v")); },
                                  10 * kSec, 60 * kSec)
              .ok());
  REQUIRE(c.a->Set("plain:1", "x").ok());  // seq 1: delivered, sets b's expectation
  c.a_plane->DropNextForTesting(1);
  REQUIRE(c.a->Set("lost", "x").ok());  // seq 2: lost
  REQUIRE(c.a->Set("plain:9", "x").ok());  // seq 3: b sees the gap
  c.Settle();
  const BackplaneStats b = c.b_plane->GetStats();
  CHECK(b.gaps == 1);
  CHECK(b.resyncs == 1);
  CHECK(c.resyncs == 1);
  // Marked stale: plain entries are gone, the stale-capable one revalidates on its next read.
  CHECK_FALSE(c.b_cache->Exists("plain:2"));
  CHECK_FALSE(c.b_cache->Get("swr"));
  CHECK(c.b_cache->Size() == 1);
  // The resync itself is not broadcast.
  c.Settle();
  CHECK(c.a_plane->GetStats().received == 0);
}

TEST_CASE("Backplane: a lost bus connection resyncs once it is back; clear mode empties") {
  Cluster c;
  c.b_plane.reset();
  c.b_plane = c.Attach(*c.b_cache, "users", ResyncMode::kClear);
  c.Load({"k:1", "k:2"});
  c.b_plane->OnBusConnectionChange(false);
  CHECK(c.b_cache->Size() == 2);  // serving on while the bus is down
  CHECK(c.b_plane->GetStats().disconnects == 1);
  CHECK_FALSE(c.b_plane->GetStats().connected);
  c.b_plane->OnBusConnectionChange(true);
  CHECK(c.b_plane->GetStats().resyncs == 1);
  CHECK(c.b_cache->Size() == 0);
  c.b_plane->OnBusConnectionChange(true);  // no loss in between: nothing to repair
  CHECK(c.b_plane->GetStats().resyncs == 1);
  // Sequences seen before the loss are forgotten: the next message is no gap.
  c.a_plane->DropNextForTesting(2);
  REQUIRE(c.a->Set("k:1", "x").ok());
  REQUIRE(c.a->Set("k:1", "y").ok());
  REQUIRE(c.a->Set("k:1", "z").ok());
  c.Settle();
  CHECK(c.b_plane->GetStats().gaps == 0);
}

TEST_CASE("Backplane: foreign or malformed messages on the channel are counted and ignored") {
  Cluster c;
  c.Load({"k"});
  REQUIRE(c.bus->Publish("larder:bp:users", "hello").ok());
  REQUIRE(c.bus->Publish("larder:bp:users", "lb1 p 0 k k").ok());  // sequence 0
  REQUIRE(c.bus->Publish("larder:bp:users", "lb1 p 1 x k").ok());  // unknown kind
  REQUIRE(c.bus->Publish("larder:bp:users", "lb1 p 01 k k").ok());  // not canonical
  c.Settle();
  CHECK(c.a_plane->GetStats().malformed == 4);
  CHECK(c.a->Exists("k"));
  CHECK(Backplane::Attach(*c.a, *c.bus, {}).status().IsInvalidArgument());
}

}  // namespace larder
