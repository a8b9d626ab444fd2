// The std_shared_mutex peer: 64 shards of std::unordered_map, each behind a std::shared_mutex.
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "key_hash.h"
#include "op_loop.h"
#include "peer.h"

namespace larder::bench {
namespace {

constexpr int kShardBits = 6;

// One cache line (at least) per shard, so two shards' locks never share a line.
struct alignas(64) Shard {
  std::shared_mutex mu;
  std::unordered_map<Key16, Value16, Key16Hash> map;
};

class ShardedMap {
 public:
  // Sizes each shard for its share of `entries` plus 10% for uneven hashing.
  void Reserve(size_t entries) {
    for (Shard& s : shards_) s.map.reserve(entries / shards_.size() * 11 / 10);
  }

  bool Read(const Key16& key, Value16* out) {
    Shard& s = ShardFor(key);
    std::shared_lock lock(s.mu);
    const auto it = s.map.find(key);
    if (it == s.map.end()) return false;
    std::memcpy(out->bytes.data(), it->second.bytes.data(), kValueSize);
    return true;
  }

  void Write(const Key16& key, const Value16& value) {
    Shard& s = ShardFor(key);
    std::unique_lock lock(s.mu);
    s.map.insert_or_assign(key, value);
  }

  uint64_t Size() {
    uint64_t n = 0;
    for (Shard& s : shards_) {
      std::shared_lock lock(s.mu);
      n += s.map.size();
    }
    return n;
  }

 private:
  Shard& ShardFor(const Key16& key) { return shards_[Key16Hash()(key) >> (64 - kShardBits)]; }

  std::array<Shard, size_t{1} << kShardBits> shards_;
};

class StdWorker final : public Worker {
 public:
  StdWorker(ShardedMap* map, const KeySet* keys) : map_(map), keys_(keys) {}

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunOps(
        *keys_, stream, begin, count, stats,
        [this](const Key16& key, Value16* out) { return map_->Read(key, out); },
        [this](const Key16& key, const Value16& value) {
          map_->Write(key, value);
          return true;
        });
  }

 private:
  ShardedMap* map_;
  const KeySet* keys_;
};

class StdPeer final : public Peer {
 public:
  void Fill(const KeySet& keys) override {
    keys_ = &keys;
    map_->Reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) map_->Write(keys.key(i), keys.value(i));
  }

  uint64_t EntryCount() override { return map_->Size(); }

  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<StdWorker>(map_.get(), keys_);
  }

 private:
  std::unique_ptr<ShardedMap> map_ = std::make_unique<ShardedMap>();
  const KeySet* keys_ = nullptr;
};

}  // namespace

std::unique_ptr<Peer> MakeStdSharedMutexPeer(std::string* /*why*/) {
  return std::make_unique<StdPeer>();
}

}  // namespace larder::bench
