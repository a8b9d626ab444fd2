// RecordCache loading: single flight per key, timed source calls, background reloads.
#include <chrono>
#include <exception>

#include <fmt/format.h>

#include "engine/record_cache_impl.h"
#include "index/key_codec.h"
#include "larder/advanced/executor.h"

namespace larder {

using internal::CacheCore;

std::shared_ptr<RecordCacheImpl::LoadFlight> RecordCacheImpl::JoinFlight(const std::string& key,
                                                                         bool* leader) {
  std::lock_guard lock(flights_mu);
  auto it = flights.find(key);
  if (it != flights.end()) {
    *leader = false;
    counters.Add(kSharedLoads);
    return it->second;
  }
  auto flight = std::make_shared<LoadFlight>();
  flights.emplace(key, flight);
  *leader = true;
  return flight;
}

void RecordCacheImpl::FinishFlight(const std::string& key,
                                   const std::shared_ptr<LoadFlight>& flight, LoadResult result) {
  {
    std::lock_guard lock(flights_mu);
    auto it = flights.find(key);
    if (it != flights.end() && it->second == flight) flights.erase(it);
  }
  flight->Complete(std::move(result));
}

RecordCacheImpl::LoadResult RecordCacheImpl::TimedLoad(
    const std::function<Status(std::vector<Record>*)>& load) {
  const auto start = std::chrono::steady_clock::now();
  LoadResult r;
  try {
    r.status = load(&r.rows);
  } catch (const std::exception& e) {
    r.status = Status::Internal(std::string("source threw: ") + e.what());
  } catch (...) {
    r.status = Status::Internal("source threw a non-standard exception");
  }
  const uint64_t nanos = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start)
          .count());
  counters.Add(kLoadNanos, nanos);
  counters.Add(r.status.ok() ? kLoads : kLoadFailures);
  uint64_t prev = max_load_nanos.load(std::memory_order_relaxed);
  while (nanos > prev && !max_load_nanos.compare_exchange_weak(prev, nanos)) {
  }
  if (!r.status.ok()) r.rows.clear();
  return r;
}

RecordCacheImpl::LoadResult RecordCacheImpl::LoadById(const std::string& pk_key,
                                                      const FieldValue& id) {
  const std::string key = NegativeKeyForPk(pk_key);  // flights and negative entries share keys
  bool leader = false;
  auto flight = JoinFlight(key, &leader);
  if (!leader) return flight->Wait();
  return LeadLoadById(pk_key, id, flight);
}

RecordCacheImpl::LoadResult RecordCacheImpl::LeadLoadById(
    const std::string& pk_key, const FieldValue& id, const std::shared_ptr<LoadFlight>& flight) {
  const std::string key = NegativeKeyForPk(pk_key);
  LoadResult r = TimedLoad([&](std::vector<Record>* rows) {
    Result<std::optional<Record>> found = source->FindById(id);
    if (!found.ok()) return found.status();
    if (*found) rows->push_back(std::move(**found));
    return Status::OK();
  });
  if (!r.status.ok()) {
    EmitError(r.status, fmt::format("loading {} {}", source->name(), id.ToString()));
  } else if (r.rows.empty()) {
    // Gone from the table: drop what we had (the seed kept serving it), remember the miss.
    RemoveByPkKey(pk_key, RemovalCause::kExplicit, RecordEventType::kEvicted);
    NegativePut(key);
  } else {
    Status s = UpsertRow(r.rows.front());
    if (!s.ok()) {
      r.status = s;
      r.rows.clear();
    } else if (events->Wants(RecordEventBit(RecordEventType::kRefreshedItem))) {
      RecordEvent ev;
      ev.type = RecordEventType::kRefreshedItem;
      ev.record = r.rows.front().view();
      events->Emit(ev);
    }
  }
  FlushRemovals();
  FinishFlight(key, flight, r);
  return r;
}

RecordCacheImpl::LoadResult RecordCacheImpl::LoadByKey(const Index& index, const FieldValue& value) {
  const std::string key = NegativeKeyForValue(index, value);
  bool leader = false;
  auto flight = JoinFlight(key, &leader);
  if (!leader) return flight->Wait();
  LoadResult r = TimedLoad([&](std::vector<Record>* rows) {
    if (index.unique) {
      Result<std::optional<Record>> found = source->FindOne(index.field, value);
      if (!found.ok()) return found.status();
      if (*found) rows->push_back(std::move(**found));
      return Status::OK();
    }
    return source->FindWhereIn(index.field, std::span<const FieldValue>(&value, 1),
                               [&](Record&& row) {
                                 rows->push_back(std::move(row));
                                 return Status::OK();
                               });
  });
  if (!r.status.ok()) {
    EmitError(r.status, fmt::format("loading {} by {} = {}", source->name(), index.field,
                                    value.ToString()));
  } else if (r.rows.empty()) {
    NegativePut(key);
  } else {
    for (const Record& row : r.rows) {
      Status s = UpsertRow(row);
      if (!s.ok()) {
        r.status = s;
        break;
      }
      if (events->Wants(RecordEventBit(RecordEventType::kRefreshedItem))) {
        RecordEvent ev;
        ev.type = RecordEventType::kRefreshedItem;
        ev.record = row.view();
        events->Emit(ev);
      }
    }
  }
  FlushRemovals();
  FinishFlight(key, flight, r);
  return r;
}

RecordLookup RecordCacheImpl::AfterLoad(const LoadResult& result, const std::string& pk_key) {
  if (!result.status.ok()) return Failed(result.status);
  if (result.rows.empty()) return Outcome(LookupOutcome::kNotFound);
  CacheCore::EntryState state;
  ValueHandle h = primary->Find(pk_key, &state);
  if (h) return Found(std::move(h), state == CacheCore::EntryState::kStale);
  // Cached and already gone again (a tiny bounded cache): serve a copy.
  RecordLookup r = Outcome(LookupOutcome::kFound);
  r.first_ = RecordRef(Record(result.rows.front()));
  return r;
}

void RecordCacheImpl::ReloadInBackground(std::string pk_key, Value id) {
  const std::string key = NegativeKeyForPk(pk_key);
  std::shared_ptr<LoadFlight> flight;
  {
    std::lock_guard lock(flights_mu);
    if (flights.count(key) != 0) return;  // one reload per key at a time
    // Fail-safe: after a failed reload the stale record keeps serving; retry only after the
    // throttle, so a failing source sees one attempt per key per throttle period.
    auto retry = retry_after.find(key);
    if (retry != retry_after.end()) {
      if (!clock->Reached(retry->second)) return;
      retry_after.erase(retry);
    }
    // Claimed now, not when the task runs: reads until then see a reload in flight.
    flight = std::make_shared<LoadFlight>();
    flights.emplace(key, flight);
  }
  auto scope = tasks;
  const bool submitted = executor->TrySubmit([this, scope, pk_key, id = std::move(id), key, flight]() {
    if (!scope->Begin()) {
      flight->Complete({Status::Aborted("cache closed before the reload ran"), {}});
      return;
    }
    const LoadResult r = LeadLoadById(pk_key, id.view(), flight);
    if (!r.status.ok()) {
      std::lock_guard lock(flights_mu);
      retry_after[key] = DeadlineAfter(clock->NowNanos(), options.fail_safe_throttle.count());
    }
    scope->End();
  });
  if (!submitted) {
    Log(LogLevel::kWarn, "background reload skipped: the loader queue is full");
    FinishFlight(key, flight, {Status::ResourceExhausted("the loader queue is full"), {}});
  }
}

}  // namespace larder
