// PostgresSource: a PostgreSQL table over libpq.
//
// Schema and primary key come from the catalog. Types: bool -> bool; int2/int4/int8/oid ->
// int64; float4/float8/numeric -> double; bytea -> bytes; date/timestamp/timestamptz ->
// timestamp (the session runs in UTC); everything else (text, varchar, uuid, json, ...) ->
// string. Full scans stream rows (single-row mode) instead of buffering the table.
//
// Change feed: InstallChangeTrigger() installs a row-level trigger that NOTIFYs the source's
// channel with the operation and primary key of every inserted, updated or deleted row, bulk
// statements included; a listener thread with its own connection fetches the changed rows in
// batches and hands them to subscribers once their transaction has committed. When the listening
// connection drops, the listener reconnects with exponential backoff and reports kResync:
// changes made meanwhile were not seen, so subscribers should sync.
//
// Failures: a lost connection makes calls return Unavailable; the next call reconnects.
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>

#include "larder/clock.h"
#include "larder/source.h"

namespace larder {

struct PostgresSourceOptions {
  std::string conninfo{};        // libpq connection string or postgresql:// URL
  std::string table{};
  std::string schema_name = "public";
  std::string primary_key{};     // empty: the table's primary key
  size_t max_batch = 500;        // values per IN (...) query
  std::string channel{};         // LISTEN/NOTIFY channel; empty: "larder_<table>"
  Duration reconnect_min = std::chrono::milliseconds(50);
  Duration reconnect_max = std::chrono::seconds(5);
};

class PostgresSource final : public Source {
 public:
  // Unavailable when the server cannot be reached; InvalidArgument for a missing table or an
  // unusable primary key.
  static Result<std::shared_ptr<PostgresSource>> Open(PostgresSourceOptions options);
  ~PostgresSource() override;

  // Creates (or replaces) the trigger function and the row-level trigger that feed the change
  // channel. Needs the privileges to create functions and triggers on the table.
  Status InstallChangeTrigger();
  // Runs one statement with $1.. parameters on the query connection.
  Status Execute(std::string_view sql, std::span<const FieldValue> params = {});

  std::shared_ptr<const Schema> schema() const override;
  std::string_view name() const override;
  size_t max_batch() const override;
  Result<std::optional<Record>> FindById(const FieldValue& id) override;
  Result<std::optional<Record>> FindOne(std::string_view field, const FieldValue& value) override;
  Status FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                     const RowSink& sink) override;
  Status FindAll(const RowSink& sink) override;
  Status FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                          const RowSink& sink) override;
  // Starts the listener on first use. Subscribers get kResync after a reconnection.
  Result<std::unique_ptr<ChangeSubscription>> SubscribeChanges(ChangeListener listener) override;

  struct Impl;

 private:
  explicit PostgresSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
