// FunctionSource: callbacks with fallbacks through find_all, exceptions turned into statuses.
#include "larder/function_source.h"

#include <algorithm>
#include <exception>
#include <string>

#include "loaders/change_fanout.h"

namespace larder {
namespace {

// Runs `fn`, turning an exception into an Internal status naming the callback.
template <typename Fn>
auto Guarded(std::string_view what, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(what) + " threw: " + e.what());
  } catch (...) {
    return Status::Internal(std::string(what) + " threw a non-standard exception");
  }
}

// Orders values of one type (primary keys: never null, never double).
bool KeyLess(const FieldValue& a, const FieldValue& b) {
  switch (a.type()) {
    case FieldType::kString:
    case FieldType::kBytes: return a.as_bytes() < b.as_bytes();
    case FieldType::kTimestamp: return a.as_timestamp().micros < b.as_timestamp().micros;
    default: return a.as_int64() < b.as_int64();
  }
}

}  // namespace

FunctionSource::FunctionSource(FunctionSourceOptions options)
    : options_(std::move(options)), fanout_(std::make_shared<loaders::ChangeFanout>()) {}

Result<std::shared_ptr<FunctionSource>> FunctionSource::Create(FunctionSourceOptions options) {
  if (options.schema == nullptr) return Status::InvalidArgument("schema: required");
  if (!options.find_all) return Status::InvalidArgument("find_all: required");
  if (options.max_batch == 0) return Status::InvalidArgument("max_batch: must be positive");
  return std::shared_ptr<FunctionSource>(new FunctionSource(std::move(options)));
}

void FunctionSource::Publish(std::span<const Change> changes) { fanout_->Deliver(changes); }

Status FunctionSource::FindAll(const RowSink& sink) {
  return Guarded("find_all", [&] { return options_.find_all(sink); });
}

Result<std::optional<Record>> FunctionSource::FindById(const FieldValue& id) {
  if (options_.find_by_id) return Guarded("find_by_id", [&] { return options_.find_by_id(id); });
  return FindOne(options_.schema->primary_key(), id);
}

Result<std::optional<Record>> FunctionSource::FindOne(std::string_view field,
                                                      const FieldValue& value) {
  std::optional<Record> best;
  const size_t pk = options_.schema->primary_key_index();
  Status s = FindWhereIn(field, std::span<const FieldValue>(&value, 1), [&](Record&& row) {
    // The smallest primary key wins, as the interface promises.
    if (!best || KeyLess(row.Get(pk), best->Get(pk))) best = std::move(row);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return best;
}

Status FunctionSource::FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                                   const RowSink& sink) {
  if (!options_.schema->Find(field)) {
    return Status::InvalidArgument("field '" + std::string(field) + "' is not in the schema");
  }
  if (options_.find_where_in) {
    for (size_t begin = 0; begin < values.size(); begin += options_.max_batch) {
      const auto chunk = values.subspan(begin, std::min(options_.max_batch, values.size() - begin));
      Status s =
          Guarded("find_where_in", [&] { return options_.find_where_in(field, chunk, sink); });
      if (!s.ok()) return s;
    }
    return Status::OK();
  }
  const size_t index = *options_.schema->Find(field);
  return FindAll([&](Record&& row) {
    const FieldValue v = row.Get(index);
    for (const FieldValue& want : values) {
      if (v == want) return sink(std::move(row));
    }
    return Status::OK();
  });
}

Status FunctionSource::FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                                        const RowSink& sink) {
  if (!options_.find_updated_since) {
    return Status::FailedPrecondition(options_.name + " has no find_updated_since callback");
  }
  return Guarded("find_updated_since",
                 [&] { return options_.find_updated_since(field, watermark, sink); });
}

Result<std::unique_ptr<ChangeSubscription>> FunctionSource::SubscribeChanges(
    ChangeListener listener) {
  return fanout_->Add(std::move(listener));
}

}  // namespace larder
