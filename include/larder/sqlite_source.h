// SqliteSource: a table in an SQLite database file, larder's embedded default source.
//
// Schema and primary key come from the table (PRAGMA table_info), column types mapped by their
// declared type: BOOL -> bool, DATE/TIME -> timestamp, INT -> int64, CHAR/CLOB/TEXT -> string,
// BLOB -> bytes, REAL/FLOA/DOUB/NUMERIC/DECIMAL -> double, anything else -> string. Timestamps
// may be stored as ISO 8601 text, integer epoch milliseconds or real Julian days.
//
// Change feed: writes made through Execute() (this source's connection) are captured by
// SQLite's pre-update hook, so every row a statement touches is reported, bulk statements
// included, with its old and new values; they are delivered once the transaction commits and
// dropped if it rolls back. Writes by other connections or processes are not seen: incremental
// sync (an updated-at column) or full sync catches those.
//
// Thread safety: every method may be called from any thread; the connection is used by one
// thread at a time. The source owns its connection and closes it when destroyed.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "larder/source.h"

namespace larder {

struct SqliteSourceOptions {
  std::string path{};         // database file; created when missing
  std::string table{};        // table name
  std::string primary_key{};  // empty: the table's own primary key column
  size_t max_batch = 500;     // values per IN (...) query
  int busy_timeout_ms = 5000; // how long a statement waits for a lock held by another process
};

class SqliteSource final : public Source {
 public:
  // InvalidArgument for a missing table or an unusable primary key; IOError when the file
  // cannot be opened.
  static Result<std::shared_ptr<SqliteSource>> Open(SqliteSourceOptions options);
  // Runs one or more statements without parameters (DDL, bulk loads). Changes to the table are
  // reported like Execute's.
  static Status ExecuteScript(const std::string& path, std::string_view sql);

  ~SqliteSource() override;

  // Runs one statement with positional parameters (?1, ?2 ... or ?) through this source's
  // connection. Changes it makes to the table reach subscribers after they commit.
  Status Execute(std::string_view sql, std::span<const FieldValue> params = {});
  Status ExecuteScript(std::string_view sql);

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
  Result<std::unique_ptr<ChangeSubscription>> SubscribeChanges(ChangeListener listener) override;

  struct Impl;

 private:
  explicit SqliteSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
