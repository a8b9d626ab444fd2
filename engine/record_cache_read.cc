// RecordCache reads: by primary key, by secondary key, many at once, and the quick checks.
#include <fmt/format.h>

#include "base/hash.h"
#include "engine/record_cache_impl.h"
#include "index/key_codec.h"
#include "index/pk_list.h"

namespace larder {

using internal::CacheCore;

std::string RecordCacheImpl::PkKey(const FieldValue& pk) const { return index::EncodeKey(pk); }

Status RecordCacheImpl::CheckType(const FieldSpec& field, const FieldValue& v) const {
  if (v.type() == field.type) return Status::OK();
  return Status::InvalidArgument(fmt::format("{}: '{}' is {}, got {} {}", source->name(),
                                             field.name, FieldTypeName(field.type),
                                             FieldTypeName(v.type()), v.ToString()));
}

const RecordCacheImpl::Index* RecordCacheImpl::FindIndex(std::string_view field) const {
  for (const Index& index : indexes) {
    if (index.field == field) return &index;
  }
  return nullptr;
}

RecordLookup RecordCacheImpl::Found(ValueHandle h, bool stale) {
  RecordLookup r;
  r.outcome_ = LookupOutcome::kFound;
  r.first_ = RecordRef(std::move(h), &schema, stale);
  return r;
}

RecordLookup RecordCacheImpl::Failed(Status status) {
  RecordLookup r;
  r.status_ = std::move(status);
  r.outcome_ = LookupOutcome::kNotLoaded;
  return r;
}

RecordLookup RecordCacheImpl::Outcome(LookupOutcome outcome) {
  RecordLookup r;
  r.outcome_ = outcome;
  return r;
}

RecordLookup RecordCacheImpl::GetById(const FieldValue& id) {
  Status s = CheckType(schema->field(pk_index), id);
  if (!s.ok()) return Failed(std::move(s));
  const std::string pk_key = PkKey(id);
  CacheCore::EntryState state;
  ValueHandle h = primary->Find(pk_key, &state);
  if (h && state == CacheCore::EntryState::kFresh) {
    counters.Add(kHits);
    return Found(std::move(h), false);
  }
  if (h) {  // stale: only stored with stale-while-revalidate on
    counters.Add(kHits);
    counters.Add(kStaleHits);
    if (options.lazy_reload) ReloadInBackground(pk_key, Value(id));
    return Found(std::move(h), true);
  }
  counters.Add(kMisses);
  if (negative_ns != 0) {
    ValueHandle neg = misses->Find(NegativeKeyForPk(pk_key), &state);
    if (neg) {
      counters.Add(kNegativeHits);
      return Outcome(LookupOutcome::kNotFound);
    }
  }
  if (!options.lazy_reload) return Outcome(LookupOutcome::kNotLoaded);
  return AfterLoad(LoadById(pk_key, id), pk_key);
}

void RecordCacheImpl::CollectByIndex(const Index& index, const FieldValue& value,
                                     RecordLookup* out, bool* any_fresh) {
  const std::string value_key = index::EncodeKey(value);
  const auto collect = [&](std::string_view pk_key) {
    CacheCore::EntryState record_state;
    ValueHandle h = primary->Find(pk_key, &record_state);
    // The slot may be stale: a record that changed its value (or left) and was not cleaned yet.
    if (h && RecordView(schema.get(), h.value()).Get(index.field_index) == value) {
      const bool stale = record_state == CacheCore::EntryState::kStale;
      if (!stale) *any_fresh = true;
      RecordRef ref(std::move(h), &schema, stale);
      if (!out->first_) {
        out->first_ = std::move(ref);
      } else {
        out->rest_.push_back(std::move(ref));
      }
    }
    return !index.unique || !out->first_;
  };
  ForEachIndexed(index, value_key,
                 [&](ValueHandle list) { index::PkList::ForEach(list.value(), collect); });
}

RecordLookup RecordCacheImpl::GetByKey(std::string_view field, const FieldValue& value) {
  if (field == schema->primary_key()) return GetById(value);  // same path, same single flight
  const Index* index = FindIndex(field);
  if (index == nullptr) {
    return Failed(Status::InvalidArgument(
        fmt::format("{}: '{}' is not an indexed field", source->name(), field)));
  }
  Status s = CheckType(schema->field(index->field_index), value);
  if (!s.ok()) return Failed(std::move(s));
  RecordLookup found;
  bool any_fresh = false;
  CollectByIndex(*index, value, &found, &any_fresh);
  if (found.first_) {
    found.outcome_ = LookupOutcome::kFound;
    counters.Add(kHits);
    if (!any_fresh) {
      counters.Add(kStaleHits);
      if (options.lazy_reload) {
        for (size_t i = 0; i < found.count(); ++i) {
          const FieldValue pk = found.record(i).Get(pk_index);
          ReloadInBackground(PkKey(pk), Value(pk));
        }
      }
    }
    return found;
  }
  counters.Add(kMisses);
  if (negative_ns != 0) {
    CacheCore::EntryState state;
    if (misses->Find(NegativeKeyForValue(*index, value), &state)) {
      counters.Add(kNegativeHits);
      return Outcome(LookupOutcome::kNotFound);
    }
  }
  if (!options.lazy_reload) return Outcome(LookupOutcome::kNotLoaded);
  LoadResult loaded = LoadByKey(*index, value);
  if (!loaded.status.ok()) return Failed(loaded.status);
  RecordLookup after;
  CollectByIndex(*index, value, &after, &any_fresh);
  if (after.first_) {
    after.outcome_ = LookupOutcome::kFound;
    return after;
  }
  if (loaded.rows.empty()) return Outcome(LookupOutcome::kNotFound);
  // Loaded, but gone again before it could be pinned (a tiny bounded cache): serve copies.
  RecordLookup copies;
  copies.outcome_ = LookupOutcome::kFound;
  for (Record& row : loaded.rows) {
    if (!copies.first_) {
      copies.first_ = RecordRef(std::move(row));
    } else {
      copies.rest_.push_back(RecordRef(std::move(row)));
    }
  }
  return copies;
}

std::vector<RecordLookup> RecordCacheImpl::GetManyByKey(std::string_view field,
                                                        std::span<const FieldValue> values) {
  std::vector<RecordLookup> out(values.size());
  const bool by_pk = field == schema->primary_key();
  const Index* index = by_pk ? nullptr : FindIndex(field);
  if (!by_pk && index == nullptr) {
    Status s = Status::InvalidArgument(
        fmt::format("{}: '{}' is not an indexed field", source->name(), field));
    for (auto& r : out) r = Failed(s);
    return out;
  }
  const FieldSpec& spec = schema->field(by_pk ? pk_index : index->field_index);
  const auto lookup_cached = [&](const FieldValue& v, RecordLookup* r) {
    if (by_pk) {
      CacheCore::EntryState state;
      ValueHandle h = primary->Find(PkKey(v), &state);
      if (h) *r = Found(std::move(h), state == CacheCore::EntryState::kStale);
      return;
    }
    bool any_fresh = false;
    CollectByIndex(*index, v, r, &any_fresh);
    if (r->first_) r->outcome_ = LookupOutcome::kFound;
  };

  // 1. Hits from memory; collect the distinct misses.
  std::vector<size_t> missing;            // indexes into values
  std::map<std::string, size_t> distinct;  // encoded value -> first position
  for (size_t i = 0; i < values.size(); ++i) {
    Status s = CheckType(spec, values[i]);
    if (!s.ok()) {
      out[i] = Failed(std::move(s));
      continue;
    }
    lookup_cached(values[i], &out[i]);
    if (out[i].found()) {
      counters.Add(kHits);
      continue;
    }
    counters.Add(kMisses);
    const std::string key = index::EncodeKey(values[i]);
    if (negative_ns != 0) {
      CacheCore::EntryState state;
      const std::string neg = by_pk ? NegativeKeyForPk(key) : NegativeKeyForValue(*index, values[i]);
      if (misses->Find(neg, &state)) {
        counters.Add(kNegativeHits);
        out[i] = Outcome(LookupOutcome::kNotFound);
        continue;
      }
    }
    if (!options.lazy_reload) {
      out[i] = Outcome(LookupOutcome::kNotLoaded);
      continue;
    }
    missing.push_back(i);
    distinct.emplace(key, i);
  }
  if (distinct.empty()) return out;

  // 2. One flight per distinct value: join loads already running, lead the others together.
  const std::string prefix = by_pk ? "p" : fmt::format("k{}:", index - indexes.data());
  std::vector<std::pair<std::string, std::shared_ptr<LoadFlight>>> led, joined;
  std::vector<FieldValue> to_load;
  for (const auto& [key, pos] : distinct) {
    bool leader = false;
    auto flight = JoinFlight(prefix + key, &leader);
    if (leader) {
      led.emplace_back(prefix + key, flight);
      to_load.push_back(values[pos]);
    } else {
      joined.emplace_back(prefix + key, flight);
    }
  }
  if (!to_load.empty()) {
    LoadResult batch = TimedLoad([&](std::vector<Record>* rows) {
      return source->FindWhereIn(spec.name, to_load, [&](Record&& row) {
        rows->push_back(std::move(row));
        return Status::OK();
      });
    });
    std::map<std::string, std::vector<Record>> by_value;
    if (batch.status.ok()) {
      for (Record& row : batch.rows) {
        Status s = UpsertRow(row);
        if (!s.ok()) Log(LogLevel::kWarn, s.ToString());
        by_value[index::EncodeKey(row.Get(by_pk ? pk_index : index->field_index))].push_back(row);
      }
    } else {
      EmitError(batch.status, fmt::format("loading {} values of '{}'", to_load.size(), spec.name));
    }
    for (auto& [key, flight] : led) {
      LoadResult r;
      r.status = batch.status;
      auto it = by_value.find(key.substr(prefix.size()));
      if (it != by_value.end()) r.rows = std::move(it->second);
      // Flight keys and negative-cache keys share one layout.
      if (r.status.ok() && r.rows.empty()) NegativePut(key);
      FinishFlight(key, flight, std::move(r));
    }
    FlushRemovals();
  }
  for (auto& [key, flight] : joined) (void)flight->Wait();

  // 3. Answer every missing position from the cache (or from the load when it was not kept).
  std::map<std::string, LoadResult> results;
  for (auto& [key, flight] : led) results[key] = flight->Wait();
  for (auto& [key, flight] : joined) results[key] = flight->Wait();
  for (size_t i : missing) {
    const std::string key = prefix + index::EncodeKey(values[i]);
    const LoadResult& r = results[key];
    if (!r.status.ok()) {
      out[i] = Failed(r.status);
      continue;
    }
    lookup_cached(values[i], &out[i]);
    if (out[i].found()) continue;
    if (r.rows.empty()) {
      out[i] = Outcome(LookupOutcome::kNotFound);
    } else {
      out[i] = Outcome(LookupOutcome::kFound);
      out[i].first_ = RecordRef(Record(r.rows.front()));
    }
  }
  return out;
}

// ---- quick checks ----

}  // namespace larder

namespace larder {

std::vector<Record> RecordCache::GetAll() {
  std::vector<Record> out;
  out.reserve(impl_->primary->Size());
  impl_->primary->ForEach([&](std::string_view, std::string_view value, int64_t deadline,
                              int64_t) {
    if (deadline != kNever && impl_->clock->Reached(deadline)) return;  // live records only
    out.push_back(Record::FromView(impl_->schema, RecordView(impl_->schema.get(), value)));
  });
  return out;
}

bool RecordCache::Has(std::string_view field, const FieldValue& value) {
  if (field == impl_->schema->primary_key()) return HasById(value);
  const RecordCacheImpl::Index* index = impl_->FindIndex(field);
  if (index == nullptr) return false;
  RecordLookup r;
  bool any_fresh = false;
  impl_->CollectByIndex(*index, value, &r, &any_fresh);
  return any_fresh;
}

bool RecordCache::HasById(const FieldValue& id) {
  internal::CacheCore::EntryState state;
  ValueHandle h = impl_->primary->Find(impl_->PkKey(id), &state);
  return h && state == internal::CacheCore::EntryState::kFresh;
}

bool RecordCache::IsExpired(const FieldValue& id) {
  internal::CacheCore::EntryState state;
  ValueHandle h = impl_->primary->Find(impl_->PkKey(id), &state);
  return h && state == internal::CacheCore::EntryState::kStale;
}

}  // namespace larder
