// RecordCacheGroup: named record caches over shared options, started, refreshed, cleared and
// observed together. The counterpart of sequelize-cache-manager's MultiModelCacheManager.
//
// The group owns its caches and shares one loader pool and one maintenance thread between them
// (a group of ten tables costs the threads of one cache, not ten). Caches are added first,
// then started with InitAll or InitAllInBackground; a failure names the cache it came from
// ("cache 'orders': ..."), and so do per-name calls given an unknown name (NotFound).
//
// Thread safety: every method may be called from any thread. A RecordCache* handed out stays
// valid until the group is destroyed (caches are never removed).
// Ownership: the group owns the caches; sources are shared. Destroying the group shuts every
// cache down (see ~RecordCache). REQUIRES: no RecordRef of its caches is alive at destruction.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "larder/events.h"
#include "larder/record_cache.h"
#include "larder/source.h"
#include "larder/status.h"

namespace larder {

struct RecordCacheGroupImpl;

// A record cache event, with the name of the cache it came from. Valid only during the call.
using GroupRecordListener = std::function<void(std::string_view cache, const RecordEvent& event)>;

class RecordCacheGroup {
 public:
  // `shared` applies to every cache added (each may adjust its copy, see Add). Unless set, the
  // group makes one loader pool (shared.loader_threads workers) for all its caches. Its
  // maintenance thread runs every shared.maintenance_interval (zero = the application calls
  // RunPendingMaintenance); a cache's own maintenance_interval is ignored.
  explicit RecordCacheGroup(RecordCacheOptions shared = {});
  ~RecordCacheGroup();
  RecordCacheGroup(const RecordCacheGroup&) = delete;
  RecordCacheGroup& operator=(const RecordCacheGroup&) = delete;

  // Opens a cache named `name` over `source` with the shared options, after `customize` has
  // adjusted its copy (key fields, ttl, ...). InvalidArgument when the name is empty or taken,
  // or when the options are bad (the message names the cache). Listeners of the group hear the
  // new cache's events from now on.
  Result<RecordCache*> Add(std::string name, std::shared_ptr<Source> source,
                           std::function<void(RecordCacheOptions&)> customize = {});
  // The cache named `name`, or null.
  RecordCache* Get(std::string_view name) const;
  // Names in the order the caches were added.
  std::vector<std::string> Names() const;

  // AutoLoad of every cache, all started at once on the loader pool, waiting for all of them.
  // OK when every cache is ready; otherwise the failure of the first failing cache in the order
  // added, its message prefixed with "cache '<name>': " (and a count of the others that failed).
  Status InitAll();
  // Starts InitAll's loads and returns; WaitUntilReady tells when they are done.
  void InitAllInBackground();
  // OK once every cache is ready; the first named failure if one failed; DeadlineExceeded
  // naming the caches still loading after `timeout` (on the shared options' clock).
  Status WaitUntilReady(Duration timeout);
  bool IsReady() const;

  // Per-name operations: NotFound names an unknown cache.
  Status Clear(std::string_view name);
  Status Refresh(std::string_view name, bool force_full = false);
  Result<RecordCacheStats> GetStats(std::string_view name) const;
  Result<size_t> Size(std::string_view name) const;

  // All-names operations, in the order the caches were added.
  void ClearAll();
  // Refreshes every cache (one after another); the first failure, named, after trying all.
  Status RefreshAll(bool force_full = false);
  std::vector<std::pair<std::string, RecordCacheStats>> GetAllStats() const;
  // Records cached in all caches together.
  size_t TotalSize() const;

  // Hears the events of every cache in the group, present and future, with the cache's name.
  [[nodiscard]] Subscription Subscribe(GroupRecordListener listener,
                                       uint32_t mask = kAllRecordEvents);
  // One maintenance pass over every cache. Deterministic with a ManualClock.
  void RunPendingMaintenance();

 private:
  std::shared_ptr<RecordCacheGroupImpl> impl_;
};

}  // namespace larder
