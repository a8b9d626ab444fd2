// larder::Cache: the public face; forwards to CacheCore.
#include "larder/cache.h"

#include "engine/cache_core.h"
#include "engine/process_signals.h"
#include "index/glob.h"

namespace larder {

Result<std::unique_ptr<Cache>> Cache::Open(CacheOptions options) {
  Result<std::unique_ptr<internal::CacheCore>> core = internal::CacheCore::Open(std::move(options));
  if (!core.ok()) return core.status();
  return std::unique_ptr<Cache>(new Cache(std::move(*core)));
}

Cache::Cache(std::unique_ptr<internal::CacheCore> core) noexcept : core_(std::move(core)) {}
Cache::~Cache() {
  internal::UnregisterFromSignals(this);  // first: a signal being handled finishes with us alive
}

void Cache::HandleProcessSignals(std::function<void(Cache&)> before_exit) {
  internal::RegisterForSignals(this, [this, hook = std::move(before_exit)] {
    if (hook) hook(*this);
    core_->Shutdown();
  });
}

ValueHandle Cache::Get(std::string_view key) { return core_->Get(key); }
bool Cache::Get(std::string_view key, std::string* value) { return core_->GetCopy(key, value); }

std::vector<std::optional<std::string>> Cache::GetMany(std::span<const std::string_view> keys) {
  std::vector<std::optional<std::string>> out(keys.size());
  std::string value;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (core_->GetCopy(keys[i], &value)) out[i] = value;
  }
  return out;
}

bool Cache::Exists(std::string_view key) { return core_->Exists(key); }
KeyTtl Cache::Ttl(std::string_view key) { return core_->Ttl(key); }

Status Cache::Set(std::string_view key, std::string_view value, const WriteOptions& options) {
  return core_->Set(key, value, options);
}
Status Cache::SetMany(std::span<const KeyValue> items, const WriteOptions& options) {
  return core_->SetMany(items, options);
}
bool Cache::Delete(std::string_view key) { return core_->Delete(key); }
size_t Cache::DeleteMany(std::span<const std::string_view> keys) {
  size_t n = 0;
  for (std::string_view k : keys) n += core_->Delete(k) ? 1 : 0;
  return n;
}
void Cache::Clear() { core_->Clear(); }
Result<size_t> Cache::InvalidatePattern(std::string_view pattern) {
  Result<index::GlobPattern> g = index::GlobPattern::Compile(pattern);
  if (!g.ok()) return g.status();
  return core_->InvalidatePattern(*g);
}
size_t Cache::InvalidateByTag(std::string_view tag) { return core_->InvalidateByTag(tag); }
size_t Cache::MarkAllStale() { return core_->MarkAllStale(); }

namespace {
thread_local int remote_scope_depth = 0;
}  // namespace
RemoteScope::RemoteScope() noexcept { ++remote_scope_depth; }
RemoteScope::~RemoteScope() { --remote_scope_depth; }
bool RemoteScope::Active() noexcept { return remote_scope_depth > 0; }
Result<std::vector<std::string>> Cache::Keys(std::string_view pattern, size_t limit) {
  Result<index::GlobPattern> g = index::GlobPattern::Compile(pattern);
  if (!g.ok()) return g.status();
  return core_->Keys(*g, limit);
}

Result<std::string> Cache::GetOrSetTimed(std::string_view key, const TimedFetcher& fetch,
                                         const WriteOptions& options) {
  return core_->GetOrSetTimed(key, fetch, options);
}
Result<std::string> Cache::GetOrSet(std::string_view key, const Fetcher& fetch,
                                    const WriteOptions& options) {
  return core_->GetOrSet(key, fetch, options);
}
Result<std::string> Cache::GetWithStale(std::string_view key, Fetcher fetch, Duration fresh_ttl,
                                        Duration stale_ttl) {
  return core_->GetWithStale(key, std::move(fetch), fresh_ttl, stale_ttl);
}

Result<SnapshotInfo> Cache::SaveSnapshot(const std::string& dir,
                                         const SaveSnapshotOptions& options) {
  return core_->SaveSnapshot(dir, options);
}
Result<LoadSnapshotResult> Cache::LoadSnapshot(const std::string& dir,
                                               const LoadSnapshotOptions& options) {
  return core_->LoadSnapshot(dir, options);
}

Subscription Cache::Subscribe(EventListener listener, EventMask mask) {
  return core_->Subscribe(std::move(listener), mask);
}
CacheStats Cache::GetStats() const { return core_->GetStats(); }
void Cache::ResetStats() { core_->ResetStats(); }
size_t Cache::Size() const { return core_->Size(); }
void Cache::RunPendingMaintenance() { core_->RunPendingMaintenance(); }
const CacheOptions& Cache::options() const noexcept { return core_->options(); }

}  // namespace larder
