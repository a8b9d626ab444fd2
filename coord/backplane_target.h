// BackplaneTarget: what the Backplane needs from the cache it keeps coherent, so that one
// transport (sequences, sender thread, gaps, resyncs) serves key-value and record caches alike.
//
// Thread safety: Watch's callback runs on the thread that made the change; Apply and Resync are
// called from the bus's threads, one message at a time per target.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "backplane_message.h"
#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/events.h"
#include "larder/record_cache.h"

namespace larder::coord {

class BackplaneTarget {
 public:
  using Send = std::function<void(BackplaneKind kind, std::string_view payload)>;
  virtual ~BackplaneTarget() = default;
  // Calls `send` for every invalidation made on this instance (not those applied inside a
  // RemoteScope), until the subscription ends.
  virtual Subscription Watch(Send send) = 0;
  // Applies another instance's invalidation; the caller holds a RemoteScope. False when it
  // could not be applied exactly (the caller then resyncs).
  virtual bool Apply(BackplaneKind kind, std::string_view payload) = 0;
  virtual void Resync(ResyncMode mode) = 0;
};

// REQUIRES: the cache outlives the target.
std::unique_ptr<BackplaneTarget> NewCacheTarget(Cache& cache);
std::unique_ptr<BackplaneTarget> NewRecordCacheTarget(RecordCache& cache);

}  // namespace larder::coord

namespace larder {

// The public header's handle on a target.
struct Backplane::Target {
  std::unique_ptr<coord::BackplaneTarget> target;
  bool is_cache = false;  // a key-value Cache (not a RecordCache)
};

}  // namespace larder
