// The table of benchmarked systems, in report order.
#include <array>

#include "peer.h"

namespace larder::bench {
namespace {

constexpr std::array<PeerFactory, 7> kPeers = {{
    {"larder", &MakeLarderPeer},
    {"larder_lru", &MakeLarderLruPeer},
    {"std_shared_mutex", &MakeStdSharedMutexPeer},
    {"tbb", &MakeTbbPeer},
    {"libcuckoo", &MakeLibcuckooPeer},
    {"rocksdb_lru", &MakeRocksdbLruPeer},
    {"redis", &MakeRedisPeer},
}};

}  // namespace

std::span<const PeerFactory> AllPeers() { return kPeers; }

const PeerFactory* FindPeer(std::string_view name) {
  for (const PeerFactory& p : kPeers) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

}  // namespace larder::bench
