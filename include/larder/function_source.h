// FunctionSource: a Source made of application callbacks, for tables larder has no driver for
// (an HTTP API, an ORM, a test fixture). Only `find_all` is required; the others fall back to it.
//
// A callback source has no change feed of its own: the application reports its writes with
// Publish(), and subscribers (attached RecordCaches) receive them.
// Thread safety: callbacks may be called from several threads at once. Exceptions they throw are
// caught and returned as Internal errors.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "larder/source.h"

namespace larder {

namespace loaders {
class ChangeFanout;
}

struct FunctionSourceOptions {
  std::shared_ptr<const Schema> schema{};
  std::string name = "function";
  size_t max_batch = 500;
  // Required: every row.
  std::function<Status(const RowSink&)> find_all{};
  // Optional: a point lookup; falls back to scanning find_all.
  std::function<Result<std::optional<Record>>(const FieldValue& id)> find_by_id{};
  // Optional: rows whose `field` is in `values`, called once per max_batch values; falls back
  // to scanning find_all.
  std::function<Status(std::string_view field, std::span<const FieldValue> values,
                       const RowSink& sink)>
      find_where_in{};
  // Optional: rows updated at or after `watermark`; without it incremental syncs are full.
  std::function<Status(std::string_view field, const FieldValue& watermark, const RowSink& sink)>
      find_updated_since{};
};

class FunctionSource final : public Source {
 public:
  // InvalidArgument when the schema or find_all is missing.
  static Result<std::shared_ptr<FunctionSource>> Create(FunctionSourceOptions options);

  // Hands `changes` to every subscriber, on the calling thread.
  void Publish(std::span<const Change> changes);

  std::shared_ptr<const Schema> schema() const override { return options_.schema; }
  std::string_view name() const override { return options_.name; }
  size_t max_batch() const override { return options_.max_batch; }
  Result<std::optional<Record>> FindById(const FieldValue& id) override;
  Result<std::optional<Record>> FindOne(std::string_view field, const FieldValue& value) override;
  Status FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                     const RowSink& sink) override;
  Status FindAll(const RowSink& sink) override;
  Status FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                          const RowSink& sink) override;
  Result<std::unique_ptr<ChangeSubscription>> SubscribeChanges(ChangeListener listener) override;

 private:
  explicit FunctionSource(FunctionSourceOptions options);
  FunctionSourceOptions options_;
  std::shared_ptr<loaders::ChangeFanout> fanout_;
};

}  // namespace larder
