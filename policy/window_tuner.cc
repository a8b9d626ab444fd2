// WindowTuner and its shadow caches.
#include "policy/window_tuner.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <new>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/node_list.h"
#include "policy/wtinylfu_policy.h"

namespace larder {
namespace {

constexpr uint64_t kShadowEntries = 256;  // aim: a shadow holds about this many entries
constexpr int kMaxRateShift = 16;        // sample at least 1 key in 65536
constexpr uint64_t kPeriodFactor = 4;    // a period is 4 x a shadow's entries, in sampled requests
constexpr double kScoreDecay = 0.8;      // weight of the previous periods in a shadow's score

}  // namespace

// A self-contained W-TinyLFU cache over key hashes, with a fixed window, on private nodes.
class WindowTuner::Shadow {
 public:
  Shadow(uint64_t capacity, uint64_t entries, bool weighted, double share)
      : capacity_(std::max<uint64_t>(capacity, 1)),
        max_nodes_(weighted ? 4 * entries + 64 : capacity_ + 1) {
    // Units of 16 bytes: 0 unused, 1..3 sentinels, then 32-byte nodes.
    const size_t units = kFirstNode + 2 * max_nodes_;
    memory_.reset(new (std::align_val_t{16}) char[units * 16]());
    space_.base = memory_.get();
    free_.reserve(max_nodes_);
    for (uint64_t i = max_nodes_; i-- > 0;) free_.push_back(static_cast<NodeId>(kFirstNode + 2 * i));
    index_.reserve(max_nodes_);
    PolicyConfig c;
    c.space = space_;
    c.hook_offset = 0;
    c.state_offset = 8;
    c.sentinels = 1;
    c.capacity = capacity_;
    c.expected_entries = entries;
    c.exact = true;
    c.window = PolicyConfig::Window::kFixed;
    c.window_share = share;
    c.traits.hash = [](NodeSpace s, NodeId n) { return At(s, n)->hash; };
    if (weighted) c.traits.weight = [](NodeSpace s, NodeId n) { return At(s, n)->weight; };
    weighted_ = weighted;
    policy_ = std::make_unique<WTinyLfuPolicy>(c);
  }

  void Request(uint32_t hash, uint64_t weight) {
    const auto it = index_.find(hash);
    if (it != index_.end()) {
      policy_->OnAccess(it->second, hash);
      ++hits_;
      return;
    }
    const uint64_t w = weighted_ ? weight : 1;
    if (w > capacity_) return;
    if (free_.empty()) EvictOne();
    const NodeId n = free_.back();
    free_.pop_back();
    Node* node = At(space_, n);
    node->state.store(kNodeLinked, std::memory_order_relaxed);
    node->hash = hash;
    node->weight = w;
    index_.emplace(hash, n);
    used_ += w;
    policy_->OnInsert(n, hash);
    while (used_ > capacity_) {
      if (!EvictOne()) break;
    }
  }

  uint64_t TakeHits() { return std::exchange(hits_, 0); }

 private:
  static constexpr uint32_t kFirstNode = 4;
  struct Node {
    ListHook hook;
    std::atomic<uint8_t> state;
    uint8_t pad[3];
    uint32_t hash;
    uint64_t weight;
    uint64_t unused;
  };
  static_assert(sizeof(Node) == 32);
  static Node* At(NodeSpace s, NodeId n) { return std::launder(reinterpret_cast<Node*>(s.At(n))); }

  bool EvictOne() {
    const NodeId v = policy_->Victim();
    if (v == kNoNode) return false;
    Node* node = At(space_, v);
    policy_->OnRemove(v);
    index_.erase(node->hash);
    used_ -= node->weight;
    node->state.store(0, std::memory_order_relaxed);
    free_.push_back(v);
    return true;
  }

  struct AlignedDelete {
    void operator()(char* p) const { ::operator delete[](p, std::align_val_t{16}); }
  };
  const uint64_t capacity_;
  const uint64_t max_nodes_;
  bool weighted_ = false;
  std::unique_ptr<char[], AlignedDelete> memory_;
  NodeSpace space_{};
  std::vector<NodeId> free_;
  std::unordered_map<uint32_t, NodeId> index_;
  std::unique_ptr<WTinyLfuPolicy> policy_;
  uint64_t used_ = 0;
  uint64_t hits_ = 0;
};

WindowTuner::WindowTuner(uint64_t capacity, uint64_t expected_entries, bool weighted) {
  const uint64_t entries = std::max<uint64_t>(expected_entries, 1);
  if (entries >= 2 * kShadowEntries) {
    rate_shift_ = std::min<int>(kMaxRateShift,
                                static_cast<int>(std::bit_width(entries / kShadowEntries)) - 1);
  }
  const uint64_t shadow_capacity = std::max<uint64_t>(capacity >> rate_shift_, 1);
  const uint64_t shadow_entries = std::max<uint64_t>(entries >> rate_shift_, 1);
  period_ = kPeriodFactor * shadow_entries;
  for (size_t i = 0; i < kShares.size(); ++i) {
    shadows_[i] = std::make_unique<Shadow>(shadow_capacity, shadow_entries, weighted, kShares[i]);
  }
}

WindowTuner::~WindowTuner() = default;

void WindowTuner::RecordSampled(uint32_t hash, uint64_t weight) noexcept {
  if (!mu_.TryLock()) return;  // another shard is feeding the shadows: drop this sample
  for (auto& s : shadows_) s->Request(hash, weight);
  if (++seen_ >= period_) {
    seen_ = 0;
    periods_.store(periods_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    size_t best = best_.load(std::memory_order_relaxed);
    for (size_t i = 0; i < shadows_.size(); ++i) {
      scores_[i] = kScoreDecay * scores_[i] + static_cast<double>(shadows_[i]->TakeHits());
      if (scores_[i] > scores_[best]) best = i;  // ties keep the current share
    }
    best_.store(best, std::memory_order_relaxed);
  }
  mu_.Unlock();
}

}  // namespace larder
