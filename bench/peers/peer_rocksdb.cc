// The rocksdb_lru peer: RocksDB's sharded LRUCache used as a key-value cache that never evicts.
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include <rocksdb/cache.h>
#include <rocksdb/slice.h>

#include "op_loop.h"
#include "peer.h"

namespace larder::bench {
namespace {

// Far above what 1M entries charge (their 32 bytes plus the handle metadata RocksDB adds), so
// nothing is evicted and every read hits.
constexpr size_t kCapacityBytes = size_t{4} << 30;
constexpr int kNumShardBits = 6;
constexpr size_t kChargePerEntry = kKeySize + kValueSize;

rocksdb::Slice SliceOf(const Key16& key) { return {key.bytes.data(), key.bytes.size()}; }

// RocksDB owns each inserted value and hands it back here once no handle refers to it.
void DeleteValue(const rocksdb::Slice& /*key*/, void* value) {
  std::default_delete<Value16>()(static_cast<Value16*>(value));
}

bool Write(rocksdb::Cache* cache, const Key16& key, const Value16& value) {
  // On failure Insert (without an out-handle) has already run the deleter.
  return cache
      ->Insert(SliceOf(key), std::make_unique<Value16>(value).release(), kChargePerEntry,
               &DeleteValue)
      .ok();
}

class RocksdbWorker final : public Worker {
 public:
  RocksdbWorker(rocksdb::Cache* cache, const KeySet* keys) : cache_(cache), keys_(keys) {}

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunOps(
        *keys_, stream, begin, count, stats,
        [this](const Key16& key, Value16* out) {
          rocksdb::Cache::Handle* h = cache_->Lookup(SliceOf(key));
          if (h == nullptr) return false;
          std::memcpy(out->bytes.data(), cache_->Value(h), kValueSize);
          cache_->Release(h);
          return true;
        },
        [this](const Key16& key, const Value16& value) { return Write(cache_, key, value); });
  }

 private:
  rocksdb::Cache* cache_;
  const KeySet* keys_;
};

class RocksdbPeer final : public Peer {
 public:
  explicit RocksdbPeer(std::shared_ptr<rocksdb::Cache> cache) : cache_(std::move(cache)) {}

  void Fill(const KeySet& keys) override {
    keys_ = &keys;
    for (size_t i = 0; i < keys.size(); ++i) (void)Write(cache_.get(), keys.key(i), keys.value(i));
  }

  uint64_t EntryCount() override {
    uint64_t n = 0;
    cache_->ApplyToAllEntries(
        [&n](const rocksdb::Slice&, void*, size_t, rocksdb::Cache::DeleterFn) { ++n; }, {});
    return n;
  }

  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<RocksdbWorker>(cache_.get(), keys_);
  }

 private:
  std::shared_ptr<rocksdb::Cache> cache_;
  const KeySet* keys_ = nullptr;
};

}  // namespace

std::unique_ptr<Peer> MakeRocksdbLruPeer(std::string* why) {
  rocksdb::LRUCacheOptions options;
  options.capacity = kCapacityBytes;
  options.num_shard_bits = kNumShardBits;
  options.strict_capacity_limit = false;
  options.high_pri_pool_ratio = 0.0;  // every entry has the same priority; no pool split
  std::shared_ptr<rocksdb::Cache> cache = rocksdb::NewLRUCache(options);
  if (cache == nullptr) {
    *why = "rocksdb::NewLRUCache returned null";
    return nullptr;
  }
  return std::make_unique<RocksdbPeer>(std::move(cache));
}

}  // namespace larder::bench
