// RecordCacheGroup: named caches, one loader pool, one maintenance thread, forwarded events.
//
// Locking: `mu` guards the cache list and the listener table; it is never held while a cache
// loads or while a listener runs. Unsubscribing a group listener drops its per-cache
// subscriptions outside `mu` (they wait for calls in flight).
#include "larder/record_cache_group.h"

#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "engine/entry.h"
#include "larder/advanced/executor.h"

namespace larder {
namespace internal {
struct SubscriptionAccess {
  static Subscription Make(std::shared_ptr<SubscriptionOwner> owner, uint64_t id) {
    return Subscription(std::move(owner), id);
  }
};
}  // namespace internal

namespace {

std::string CacheContext(std::string_view name) { return fmt::format("cache '{}'", name); }

Status UnknownCache(std::string_view name) {
  return Status::NotFound(fmt::format("no cache named '{}' in the group", name));
}

}  // namespace

struct RecordCacheGroupImpl final : internal::SubscriptionOwner,
                                    std::enable_shared_from_this<RecordCacheGroupImpl> {
  struct Member {
    std::string name;
    std::unique_ptr<RecordCache> cache;
  };
  struct Listener {
    std::shared_ptr<const GroupRecordListener> fn;
    uint32_t mask = 0;
    std::vector<Subscription> per_cache;
  };

  RecordCacheOptions shared;
  std::shared_ptr<Clock> clock;

  mutable std::shared_mutex mu;
  std::vector<std::unique_ptr<Member>> members;  // stable addresses; never removed
  std::map<uint64_t, Listener> listeners;
  uint64_t next_listener = 1;

  std::mutex maint_mu;
  std::condition_variable maint_cv;
  bool stopping = false;
  std::thread maintenance;

  static Subscription Forward(RecordCache& cache, const std::string& name,
                              const std::shared_ptr<const GroupRecordListener>& fn, uint32_t mask) {
    return cache.Subscribe([fn, name](const RecordEvent& ev) { (*fn)(name, ev); }, mask);
  }

  void Remove(uint64_t id) noexcept override {
    std::vector<Subscription> drop;
    {
      std::unique_lock lock(mu);
      auto it = listeners.find(id);
      if (it == listeners.end()) return;
      drop = std::move(it->second.per_cache);
      listeners.erase(it);
    }
    drop.clear();  // waits for calls in flight, outside `mu`
  }

  // Members in order; their caches live as long as the group.
  std::vector<Member*> Snapshot() const {
    std::shared_lock lock(mu);
    std::vector<Member*> out;
    out.reserve(members.size());
    for (const auto& m : members) out.push_back(m.get());
    return out;
  }

  RecordCache* Find(std::string_view name) const {
    std::shared_lock lock(mu);
    for (const auto& m : members) {
      if (m->name == name) return m->cache.get();
    }
    return nullptr;
  }

  void MaintenanceLoop() {
    std::unique_lock lock(maint_mu);
    while (!stopping) {
      maint_cv.wait_for(lock, shared.maintenance_interval);
      if (stopping) break;
      lock.unlock();
      for (Member* m : Snapshot()) m->cache->RunPendingMaintenance();
      lock.lock();
    }
  }
};

RecordCacheGroup::RecordCacheGroup(RecordCacheOptions shared)
    : impl_(std::make_shared<RecordCacheGroupImpl>()) {
  if (shared.executor == nullptr) {
    shared.executor = NewThreadPoolExecutor(std::max<size_t>(1, shared.loader_threads), 4096);
  }
  if (shared.clock == nullptr) shared.clock = SystemClock();
  impl_->clock = shared.clock;
  impl_->shared = std::move(shared);
  if (impl_->shared.maintenance_interval.count() > 0) {
    RecordCacheGroupImpl* raw = impl_.get();
    impl_->maintenance = std::thread([raw] { raw->MaintenanceLoop(); });
  }
}

RecordCacheGroup::~RecordCacheGroup() {
  {
    std::lock_guard lock(impl_->maint_mu);
    impl_->stopping = true;
  }
  impl_->maint_cv.notify_all();
  if (impl_->maintenance.joinable()) impl_->maintenance.join();
  std::vector<std::unique_ptr<RecordCacheGroupImpl::Member>> members;
  {
    std::unique_lock lock(impl_->mu);
    members = std::move(impl_->members);
  }
  members.clear();  // each cache shuts down (timers, hooks, loads in flight)
}

Result<RecordCache*> RecordCacheGroup::Add(std::string name, std::shared_ptr<Source> source,
                                           std::function<void(RecordCacheOptions&)> customize) {
  if (name.empty()) return Status::InvalidArgument("name: a cache in a group needs a name");
  if (Get(name) != nullptr) {
    return Status::InvalidArgument(fmt::format("name: a cache named '{}' is already in the group", name));
  }
  RecordCacheOptions options = impl_->shared;
  if (customize) customize(options);
  options.maintenance_interval = Duration::zero();  // the group's thread maintains every cache
  Result<std::unique_ptr<RecordCache>> opened = RecordCache::Open(std::move(source), std::move(options));
  if (!opened.ok()) return opened.status().WithContext(CacheContext(name));

  auto member = std::make_unique<RecordCacheGroupImpl::Member>();
  member->name = std::move(name);
  member->cache = std::move(*opened);
  RecordCache* cache = member->cache.get();
  std::unique_lock lock(impl_->mu);
  for (const auto& m : impl_->members) {
    if (m->name == member->name) {  // lost a race with another Add of the same name
      return Status::InvalidArgument(
          fmt::format("name: a cache named '{}' is already in the group", member->name));
    }
  }
  for (auto& [id, l] : impl_->listeners) {
    l.per_cache.push_back(RecordCacheGroupImpl::Forward(*cache, member->name, l.fn, l.mask));
  }
  impl_->members.push_back(std::move(member));
  return cache;
}

RecordCache* RecordCacheGroup::Get(std::string_view name) const { return impl_->Find(name); }

std::vector<std::string> RecordCacheGroup::Names() const {
  std::vector<std::string> out;
  for (const auto* m : impl_->Snapshot()) out.push_back(m->name);
  return out;
}

Status RecordCacheGroup::InitAll() {
  InitAllInBackground();
  return WaitUntilReady(Duration::max());
}

void RecordCacheGroup::InitAllInBackground() {
  for (auto* m : impl_->Snapshot()) m->cache->AutoLoadInBackground();
}

Status RecordCacheGroup::WaitUntilReady(Duration timeout) {
  const int64_t deadline = DeadlineAfter(impl_->clock->NowNanos(), timeout.count());
  Status first_failure;
  std::vector<std::string> failed;
  std::vector<std::string> loading;
  for (auto* m : impl_->Snapshot()) {
    const int64_t left = std::max<int64_t>(0, deadline - impl_->clock->NowNanos());
    Status s = m->cache->WaitUntilReady(Duration(left));
    if (s.ok()) continue;
    if (s.code() == Status::Code::kDeadlineExceeded) {
      loading.push_back(m->name);
      continue;
    }
    if (first_failure.ok()) first_failure = s.WithContext(CacheContext(m->name));
    failed.push_back(m->name);
  }
  if (!first_failure.ok()) {
    if (failed.size() == 1) return first_failure;
    return Status(first_failure)
        .WithContext(fmt::format("{} caches failed ({})", failed.size(), fmt::join(failed, ", ")));
  }
  if (!loading.empty()) {
    return Status::DeadlineExceeded(fmt::format("not ready after {} ms: {}",
                                                timeout.count() / 1'000'000, fmt::join(loading, ", ")));
  }
  return Status::OK();
}

bool RecordCacheGroup::IsReady() const {
  for (const auto* m : impl_->Snapshot()) {
    if (!m->cache->IsReady()) return false;
  }
  return true;
}

Status RecordCacheGroup::Clear(std::string_view name) {
  RecordCache* c = impl_->Find(name);
  if (c == nullptr) return UnknownCache(name);
  c->Clear();
  return Status::OK();
}

Status RecordCacheGroup::Refresh(std::string_view name, bool force_full) {
  RecordCache* c = impl_->Find(name);
  if (c == nullptr) return UnknownCache(name);
  return c->Refresh(force_full).WithContext(CacheContext(name));
}

Result<RecordCacheStats> RecordCacheGroup::GetStats(std::string_view name) const {
  RecordCache* c = impl_->Find(name);
  if (c == nullptr) return UnknownCache(name);
  return c->GetStats();
}

Result<size_t> RecordCacheGroup::Size(std::string_view name) const {
  RecordCache* c = impl_->Find(name);
  if (c == nullptr) return UnknownCache(name);
  return c->Size();
}

void RecordCacheGroup::ClearAll() {
  for (auto* m : impl_->Snapshot()) m->cache->Clear();
}

Status RecordCacheGroup::RefreshAll(bool force_full) {
  Status first;
  for (auto* m : impl_->Snapshot()) {
    Status s = m->cache->Refresh(force_full);
    if (!s.ok() && first.ok()) first = s.WithContext(CacheContext(m->name));
  }
  return first;
}

std::vector<std::pair<std::string, RecordCacheStats>> RecordCacheGroup::GetAllStats() const {
  std::vector<std::pair<std::string, RecordCacheStats>> out;
  for (const auto* m : impl_->Snapshot()) out.emplace_back(m->name, m->cache->GetStats());
  return out;
}

size_t RecordCacheGroup::TotalSize() const {
  size_t n = 0;
  for (const auto* m : impl_->Snapshot()) n += m->cache->Size();
  return n;
}

Subscription RecordCacheGroup::Subscribe(GroupRecordListener listener, uint32_t mask) {
  auto fn = std::make_shared<const GroupRecordListener>(std::move(listener));
  std::unique_lock lock(impl_->mu);
  const uint64_t id = impl_->next_listener++;
  RecordCacheGroupImpl::Listener& l = impl_->listeners[id];
  l.fn = fn;
  l.mask = mask;
  for (const auto& m : impl_->members) {
    l.per_cache.push_back(RecordCacheGroupImpl::Forward(*m->cache, m->name, fn, mask));
  }
  return internal::SubscriptionAccess::Make(impl_, id);
}

void RecordCacheGroup::RunPendingMaintenance() {
  for (auto* m : impl_->Snapshot()) m->cache->RunPendingMaintenance();
}

}  // namespace larder
