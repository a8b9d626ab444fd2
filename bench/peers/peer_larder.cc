// The larder peers: larder::Cache through its public API, with a bound and a TTL on every entry;
// "larder" runs the default policy (W-TinyLFU), "larder_lru" the LRU policy.
#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "larder/cache.h"
#include "op_loop.h"
#include "peer.h"

namespace larder::bench {
namespace {

class LarderWorker final : public Worker {
 public:
  LarderWorker(Cache* cache, const KeySet* keys) : cache_(cache), keys_(keys) {}

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunOps(
        *keys_, stream, begin, count, stats,
        [this](const Key16& key, Value16* out) {
          ValueHandle h = cache_->Get(key.view());
          if (!h) return false;
          std::memcpy(out->bytes.data(), h.value().data(), kValueSize);
          return true;
        },
        [this](const Key16& key, const Value16& value) {
          return cache_->Set(key.view(), value.view()).ok();
        });
  }

 private:
  Cache* cache_;
  const KeySet* keys_;
};

class LarderPeer final : public Peer {
 public:
  explicit LarderPeer(std::unique_ptr<Cache> cache) : cache_(std::move(cache)) {}

  void Fill(const KeySet& keys) override {
    keys_ = &keys;
    for (size_t i = 0; i < keys.size(); ++i) {
      (void)cache_->Set(keys.key(i).view(), keys.value(i).view());  // counted by EntryCount
    }
  }

  uint64_t EntryCount() override { return cache_->GetStats().entries; }

  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<LarderWorker>(cache_.get(), keys_);
  }

 private:
  std::unique_ptr<Cache> cache_;
  const KeySet* keys_ = nullptr;
};

}  // namespace

namespace {

std::unique_ptr<Peer> MakeLarderWith(EvictionPolicyKind policy, std::string* why) {
  CacheOptions options;
  options.policy = policy;
  options.max_entries = 1'100'000;
  options.default_ttl = std::chrono::hours(1);
  Result<std::unique_ptr<Cache>> cache = Cache::Open(std::move(options));
  if (!cache.ok()) {
    *why = cache.status().ToString();
    return nullptr;
  }
  return std::make_unique<LarderPeer>(std::move(*cache));
}

}  // namespace

std::unique_ptr<Peer> MakeLarderPeer(std::string* why) {
  return MakeLarderWith(EvictionPolicyKind::kWTinyLfu, why);
}

std::unique_ptr<Peer> MakeLarderLruPeer(std::string* why) {
  return MakeLarderWith(EvictionPolicyKind::kLru, why);
}

}  // namespace larder::bench
