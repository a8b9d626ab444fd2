// The tbb peer: tbb::concurrent_hash_map, const_accessor reads and accessor writes.
#include <cstring>
#include <memory>

#include <tbb/concurrent_hash_map.h>

#include "key_hash.h"
#include "op_loop.h"
#include "peer.h"

namespace larder::bench {
namespace {

struct Key16HashCompare {
  static size_t hash(const Key16& key) { return Key16Hash()(key); }
  static bool equal(const Key16& a, const Key16& b) { return a == b; }
};

using TbbMap = tbb::concurrent_hash_map<Key16, Value16, Key16HashCompare>;

// Inserts or overwrites under the item's write lock.
bool Write(TbbMap* map, const Key16& key, const Value16& value) {
  TbbMap::accessor a;
  map->insert(a, key);
  a->second = value;
  return true;
}

class TbbWorker final : public Worker {
 public:
  TbbWorker(TbbMap* map, const KeySet* keys) : map_(map), keys_(keys) {}

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunOps(
        *keys_, stream, begin, count, stats,
        [this](const Key16& key, Value16* out) {
          TbbMap::const_accessor a;
          if (!map_->find(a, key)) return false;
          std::memcpy(out->bytes.data(), a->second.bytes.data(), kValueSize);
          return true;
        },
        [this](const Key16& key, const Value16& value) { return Write(map_, key, value); });
  }

 private:
  TbbMap* map_;
  const KeySet* keys_;
};

class TbbPeer final : public Peer {
 public:
  void Fill(const KeySet& keys) override {
    keys_ = &keys;
    map_.rehash(keys.size() * 11 / 10);
    for (size_t i = 0; i < keys.size(); ++i) Write(&map_, keys.key(i), keys.value(i));
  }

  uint64_t EntryCount() override { return map_.size(); }

  std::unique_ptr<Worker> NewWorker() override { return std::make_unique<TbbWorker>(&map_, keys_); }

 private:
  TbbMap map_;
  const KeySet* keys_ = nullptr;
};

}  // namespace

std::unique_ptr<Peer> MakeTbbPeer(std::string* /*why*/) { return std::make_unique<TbbPeer>(); }

}  // namespace larder::bench
