// The backplane's view of a key-value Cache: writes and removals out, keys, patterns, tags and
// clears in.
#include "backplane_target.h"

namespace larder::coord {
namespace {

class CacheTarget final : public BackplaneTarget {
 public:
  explicit CacheTarget(Cache& cache) : cache_(cache) {}

  Subscription Watch(Send send) override {
    return cache_.Subscribe(
        [send = std::move(send)](const CacheEvent& ev) {
          if (ev.remote) return;  // another instance's change, being applied here
          switch (ev.type) {
            case EventType::kSet:
              if (!ev.loaded) send(BackplaneKind::kKey, ev.key);  // loads read the truth
              return;
            case EventType::kInvalidated:  // a key, pattern or tag, whatever it removed here
              send(ev.scope == InvalidationScope::kKey   ? BackplaneKind::kKey
                   : ev.scope == InvalidationScope::kTag ? BackplaneKind::kTag
                                                         : BackplaneKind::kPattern,
                   ev.key);
              return;
            case EventType::kClear:
              send(BackplaneKind::kClear, {});
              return;
            default:
              return;
          }
        },
        EventBit(EventType::kSet) | EventBit(EventType::kInvalidated) |
            EventBit(EventType::kClear));
  }

  bool Apply(BackplaneKind kind, std::string_view payload) override {
    switch (kind) {
      case BackplaneKind::kKey:
        cache_.Delete(payload);
        return true;
      case BackplaneKind::kPattern:
        return cache_.InvalidatePattern(payload).ok();
      case BackplaneKind::kTag:
        cache_.InvalidateByTag(payload);
        return true;
      case BackplaneKind::kClear:
        cache_.Clear();
        return true;
      case BackplaneKind::kField:
        return false;  // a record cache's message on this cache's channel
    }
    return false;
  }

  void Resync(ResyncMode mode) override {
    if (mode == ResyncMode::kClear) {
      cache_.Clear();
    } else {
      cache_.MarkAllStale();
    }
  }

 private:
  Cache& cache_;
};

}  // namespace

std::unique_ptr<BackplaneTarget> NewCacheTarget(Cache& cache) {
  return std::make_unique<CacheTarget>(cache);
}

}  // namespace larder::coord
