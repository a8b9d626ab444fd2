// CacheCore loading: GetOrSet (single flight) and GetWithStale (background refresh, fail-safe).
#include "engine/cache_core.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>

#include <fmt/format.h>

#include "base/hash.h"
#include "engine/single_flight.h"

namespace larder::internal {

Result<std::string> CacheCore::RunFetch(std::string_view key, const Fetcher& fetch) {
  const auto start = std::chrono::steady_clock::now();
  Result<std::string> r = Status::Internal("fetcher did not run");
  try {
    r = fetch();
  } catch (const std::exception& e) {
    r = Status::Internal(fmt::format("fetcher for key {} threw: {}", QuoteKey(key), e.what()));
  } catch (...) {
    r = Status::Internal(
        fmt::format("fetcher for key {} threw a non-standard exception", QuoteKey(key)));
  }
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count();
  counters_.Add(kLoadNanos, static_cast<uint64_t>(nanos));
  counters_.Add(r.ok() ? kLoads : kLoadFailures);
  if (!r.ok() && events_->Wants(EventBit(EventType::kError))) {
    CacheEvent ev;
    ev.type = EventType::kError;
    ev.key = key;
    ev.error = &r.status();
    Emit(ev);
  }
  return r;
}

Status CacheCore::WriteLoaded(std::string_view key, uint64_t hash, std::string_view value,
                              const LoadMode& mode, EventType event, const Flight& flight) {
  Status s = CheckSizes(key, value);
  if (!s.ok()) return s;
  EntrySpec spec;
  spec.key = key;
  spec.value = value;
  std::string tags;
  const int64_t now = clock_->NowNanos();
  if (mode.stale) {
    spec.deadline = DeadlineAfter(now, mode.fresh_ttl);
    spec.stale_until = DeadlineAfter(now, mode.stale_ttl);
  } else if (mode.fetched_ttl != nullptr && mode.fetched_ttl->has_value()) {
    const Duration fetched = **mode.fetched_ttl;
    if (fetched.count() <= 0) return Status::OK();  // already out of date: not cached
    WriteOptions shortened = mode.write;
    const std::optional<Duration> asked = shortened.ttl ? shortened.ttl : options_.default_ttl;
    shortened.ttl = asked ? std::min(*asked, fetched) : fetched;
    shortened.sliding = false;  // a bound on the value's validity: reads must not extend it
    s = ResolveWrite(shortened, now, &spec, &tags);
    if (!s.ok()) return s;
  } else {
    s = ResolveWrite(mode.write, now, &spec, &tags);
    if (!s.ok()) return s;
  }
  return Write(hash, spec, event, nullptr, /*loaded=*/true, &flight);
}

Result<std::string> CacheCore::LoadShared(std::string_view key, uint64_t hash, const Fetcher& fetch,
                                          const LoadMode& mode) {
  Shard& shard = ShardFor(hash);
  std::shared_ptr<Flight> flight;
  bool leader = false;
  {
    MutexLock lock(shard.mu);
    {
      // A load may have finished between the caller's miss and this lock.
      epoch::Guard guard;
      const uint64_t slot = shard.Find(hash, key);
      if (slot != 0 && Live(shard.Entry(Table::IdOf(slot)))) {
        return std::string(shard.Entry(Table::IdOf(slot))->value());
      }
    }
    auto it = shard.flights().find(key);
    if (it != shard.flights().end()) {
      flight = it->second;
    } else {
      flight = std::make_shared<Flight>();
      shard.flights().emplace(std::string(key), flight);
      leader = true;
    }
  }
  if (!leader) {
    counters_.Add(kCoalesced);
    return flight->Wait();
  }

  Result<std::string> r = RunFetch(key, fetch);
  if (r.ok()) {
    Status w = WriteLoaded(key, hash, *r, mode, EventType::kSet, *flight);
    if (!w.ok()) r = w;
  }
  {
    MutexLock lock(shard.mu);
    auto it = shard.flights().find(key);
    if (it != shard.flights().end() && it->second == flight) shard.flights().erase(it);
  }
  flight->Complete(r);
  return r;
}

Result<std::string> CacheCore::GetOrSetTimed(std::string_view key, const TimedFetcher& fetch,
                                             const WriteOptions& options) {
  if (!fetch) return Status::InvalidArgument("fetch: empty function");
  std::optional<Duration> ttl;
  // One pointer captured, so the wrapper fits std::function's inline buffer: hits allocate
  // nothing.
  struct Context {
    const TimedFetcher& fetch;
    std::optional<Duration>& ttl;
  } context{fetch, ttl};
  const Fetcher plain = [&context]() -> Result<std::string> {
    Result<TimedValue> f = context.fetch();
    if (!f.ok()) return f.status();
    context.ttl = f->ttl;
    return std::move(f->value);
  };
  return GetOrSet(key, plain, options, &ttl);
}

Result<std::string> CacheCore::GetOrSet(std::string_view key, const Fetcher& fetch,
                                        const WriteOptions& options,
                                        const std::optional<Duration>* fetched_ttl) {
  if (key.size() > kMaxKeySize) return CheckSizes(key, {});
  if (!fetch) return Status::InvalidArgument("fetch: empty function");
  EntrySpec probe;
  std::string tags;
  Status s = ResolveWrite(options, 0, &probe, &tags);
  if (!s.ok()) return s;
  std::string value;
  if (GetCopy(key, &value)) return value;
  LoadMode mode;
  mode.write = options;
  mode.fetched_ttl = fetched_ttl;
  return LoadShared(key, HashKey(key), fetch, mode);
}

Result<std::string> CacheCore::GetWithStale(std::string_view key, Fetcher fetch, Duration fresh_ttl,
                                            Duration stale_ttl) {
  if (key.size() > kMaxKeySize) return CheckSizes(key, {});
  if (!fetch) return Status::InvalidArgument("fetch: empty function");
  if (fresh_ttl.count() <= 0) {
    return Status::InvalidArgument(
        fmt::format("fresh_ttl: must be positive, got {} ns", fresh_ttl.count()));
  }
  if (stale_ttl < fresh_ttl) {
    return Status::InvalidArgument(fmt::format(
        "stale_ttl: must be at least fresh_ttl ({} ns), got {} ns; it counts from the write",
        fresh_ttl.count(), stale_ttl.count()));
  }
  LoadMode mode;
  mode.stale = true;
  mode.fresh_ttl = fresh_ttl.count();
  mode.stale_ttl = stale_ttl.count();

  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  std::string value;
  bool stale = false;
  bool refresh = false;
  {
    epoch::Guard guard;
    const uint64_t slot = shard.Find(hash, key);
    if (slot != 0) {
      EntryHeader* e = shard.Entry(Table::IdOf(slot));
      if (Live(e)) {
        shard.RecordAccess(e, slot, epoch::ThreadOrdinal());
        counters_.Add(kHits);
        return std::string(e->value());
      }
      if ((e->flags & EntryHeader::kStale) && !clock_->Reached(e->stale_until())) {
        value.assign(e->value());
        stale = true;
        refresh = clock_->Reached(e->retry_at().load(std::memory_order_relaxed));
      }
    }
  }
  if (stale) {
    counters_.Add(kHits);
    counters_.Add(kStaleServed);
    if (refresh) StartRefresh(key, hash, std::move(fetch), mode);
    return value;
  }
  counters_.Add(kMisses);
  return LoadShared(key, hash, fetch, mode);
}

void CacheCore::StartRefresh(std::string_view key, uint64_t hash, Fetcher fetch,
                             const LoadMode& mode) {
  Shard& shard = ShardFor(hash);
  auto flight = std::make_shared<Flight>();
  {
    MutexLock lock(shard.mu);
    if (shard.flights().count(key) != 0) return;  // one refresh (or load) per key at a time
    shard.flights().emplace(std::string(key), flight);
  }
  counters_.Add(kRefreshes);
  auto finish = [&shard, flight](std::string_view k, Result<std::string> r) {
    {
      MutexLock lock(shard.mu);
      auto it = shard.flights().find(k);
      if (it != shard.flights().end() && it->second == flight) shard.flights().erase(it);
    }
    flight->Complete(std::move(r));
  };
  auto task = [this, scope = tasks_, owned_key = std::string(key), hash, fetch = std::move(fetch),
               mode, flight, finish]() {
    if (!scope->Begin()) {
      flight->Complete(Status::Aborted("cache closed before the refresh ran"));
      return;
    }
    Result<std::string> r = RunFetch(owned_key, fetch);
    if (r.ok()) {
      Status w = WriteLoaded(owned_key, hash, *r, mode, EventType::kRefreshed, *flight);
      if (!w.ok()) r = w;
    } else {
      ThrottleRefresh(owned_key, hash);
    }
    finish(owned_key, std::move(r));
    scope->End();
  };
  if (!executor_->TrySubmit(std::move(task))) {
    finish(key, Status::ResourceExhausted(fmt::format(
                    "refresh of key {} skipped: the loader queue is full", QuoteKey(key))));
  }
}

void CacheCore::ThrottleRefresh(std::string_view key, uint64_t hash) {
  Shard& shard = ShardFor(hash);
  const int64_t retry_at = DeadlineAfter(clock_->NowNanos(), options_.fail_safe_throttle.count());
  epoch::Guard guard;
  MutexLock lock(shard.mu);
  const uint64_t slot = shard.Find(hash, key);
  if (slot == 0) return;
  EntryHeader* e = shard.Entry(Table::IdOf(slot));
  if (e->flags & EntryHeader::kStale) e->retry_at().store(retry_at, std::memory_order_relaxed);
}

}  // namespace larder::internal
