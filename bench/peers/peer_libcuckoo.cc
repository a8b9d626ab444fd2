// The libcuckoo peer: libcuckoo::cuckoohash_map, find_fn reads and insert_or_assign writes.
#include <cstring>
#include <memory>

#include <libcuckoo/cuckoohash_map.hh>

#include "key_hash.h"
#include "op_loop.h"
#include "peer.h"

namespace larder::bench {
namespace {

using CuckooMap = libcuckoo::cuckoohash_map<Key16, Value16, Key16Hash>;

class CuckooWorker final : public Worker {
 public:
  CuckooWorker(CuckooMap* map, const KeySet* keys) : map_(map), keys_(keys) {}

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunOps(
        *keys_, stream, begin, count, stats,
        [this](const Key16& key, Value16* out) {
          return map_->find_fn(key, [out](const Value16& v) {
            std::memcpy(out->bytes.data(), v.bytes.data(), kValueSize);
          });
        },
        [this](const Key16& key, const Value16& value) {
          map_->insert_or_assign(key, value);
          return true;
        });
  }

 private:
  CuckooMap* map_;
  const KeySet* keys_;
};

class CuckooPeer final : public Peer {
 public:
  void Fill(const KeySet& keys) override {
    keys_ = &keys;
    map_.reserve(keys.size() * 11 / 10);
    for (size_t i = 0; i < keys.size(); ++i) map_.insert_or_assign(keys.key(i), keys.value(i));
  }

  uint64_t EntryCount() override { return map_.size(); }

  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<CuckooWorker>(&map_, keys_);
  }

 private:
  CuckooMap map_;
  const KeySet* keys_ = nullptr;
};

}  // namespace

std::unique_ptr<Peer> MakeLibcuckooPeer(std::string* /*why*/) {
  return std::make_unique<CuckooPeer>();
}

}  // namespace larder::bench
