// SqliteSource: schema discovery, queries with cached statements, the pre-update change feed.
#define SQLITE_ENABLE_PREUPDATE_HOOK 1  // declares sqlite3_preupdate_*; Debian's library has them
#include "larder/sqlite_source.h"

#include <sqlite3.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "loaders/change_fanout.h"

namespace larder {
namespace {

std::string Quote(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

FieldType TypeFromDeclared(std::string declared) {
  std::transform(declared.begin(), declared.end(), declared.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  const auto has = [&](const char* s) { return declared.find(s) != std::string::npos; };
  if (has("BOOL")) return FieldType::kBool;
  if (has("DATE") || has("TIME")) return FieldType::kTimestamp;
  if (has("INT")) return FieldType::kInt64;
  if (has("CHAR") || has("CLOB") || has("TEXT")) return FieldType::kString;
  if (has("BLOB")) return FieldType::kBytes;
  if (has("REAL") || has("FLOA") || has("DOUB") || has("NUMERIC") || has("DECIMAL")) {
    return FieldType::kDouble;
  }
  return FieldType::kString;
}

// Reads one SQLite value as `type`. String payloads point into SQLite's memory (valid until the
// statement steps again) or into `scratch`.
Result<FieldValue> ReadValue(sqlite3_value* v, const FieldSpec& f) {
  const int storage = sqlite3_value_type(v);
  if (storage == SQLITE_NULL) return FieldValue::Null();
  switch (f.type) {
    case FieldType::kBool: return FieldValue::Bool(sqlite3_value_int64(v) != 0);
    case FieldType::kInt64: return FieldValue::Int64(sqlite3_value_int64(v));
    case FieldType::kDouble: return FieldValue::Double(sqlite3_value_double(v));
    case FieldType::kString: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
      return FieldValue::String({text, static_cast<size_t>(sqlite3_value_bytes(v))});
    }
    case FieldType::kBytes: {
      const auto* blob = static_cast<const char*>(sqlite3_value_blob(v));
      return FieldValue::Bytes({blob, static_cast<size_t>(sqlite3_value_bytes(v))});
    }
    case FieldType::kTimestamp: {
      if (storage == SQLITE_INTEGER) {
        int64_t micros;
        if (__builtin_mul_overflow(sqlite3_value_int64(v), 1000, &micros)) {
          return Status::InvalidArgument(fmt::format("field '{}': epoch milliseconds out of range",
                                                     f.name));
        }
        return FieldValue::Time({micros});
      }
      if (storage == SQLITE_FLOAT) {  // a Julian day number, SQLite's own real-valued dates
        const double micros = (sqlite3_value_double(v) - 2440587.5) * 86400e6;
        return FieldValue::Time({static_cast<int64_t>(micros)});
      }
      const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(v));
      Result<Timestamp> t =
          ParseTimestamp({text, static_cast<size_t>(sqlite3_value_bytes(v))});
      if (!t.ok()) {
        return Status::InvalidArgument(fmt::format("field '{}': {}", f.name, t.status().message()));
      }
      return FieldValue::Time(*t);
    }
    case FieldType::kNull: break;
  }
  return FieldValue::Null();
}

}  // namespace

struct SqliteSource::Impl {
  SqliteSourceOptions options;
  std::shared_ptr<const Schema> schema;
  std::string select_columns;  // "col1", "col2", ...
  std::string table_quoted;

  std::mutex mu;  // the connection and everything below
  sqlite3* db = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements;
  std::vector<Change> pending;  // captured by the pre-update hook, delivered on commit

  std::shared_ptr<loaders::ChangeFanout> fanout = std::make_shared<loaders::ChangeFanout>();

  ~Impl() {
    for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
    if (db != nullptr) sqlite3_close(db);
  }

  Status Error(std::string_view what) const {
    return Status::IOError(fmt::format("sqlite {} on table '{}': {}", what, options.table,
                                       db ? sqlite3_errmsg(db) : "no connection"));
  }

  // A cached prepared statement, reset and unbound. REQUIRES: mu held.
  Result<sqlite3_stmt*> Prepare(const std::string& sql) {
    auto it = statements.find(sql);
    if (it != statements.end()) {
      sqlite3_reset(it->second);
      sqlite3_clear_bindings(it->second);
      return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return Error("prepare of '" + sql.substr(0, 80) + "'");
    }
    statements.emplace(sql, stmt);
    return stmt;
  }

  Status Bind(sqlite3_stmt* stmt, int index, const FieldValue& v) {
    int rc = SQLITE_OK;
    switch (v.type()) {
      case FieldType::kNull: rc = sqlite3_bind_null(stmt, index); break;
      case FieldType::kBool:
      case FieldType::kInt64: rc = sqlite3_bind_int64(stmt, index, v.as_int64()); break;
      case FieldType::kDouble: rc = sqlite3_bind_double(stmt, index, v.as_double()); break;
      case FieldType::kString:
        rc = sqlite3_bind_text(stmt, index, v.as_string().data(),
                               static_cast<int>(v.as_string().size()), SQLITE_TRANSIENT);
        break;
      case FieldType::kBytes:
        rc = sqlite3_bind_blob(stmt, index, v.as_bytes().data(),
                               static_cast<int>(v.as_bytes().size()), SQLITE_TRANSIENT);
        break;
      case FieldType::kTimestamp: {
        const std::string text = FormatTimestamp(v.as_timestamp());
        rc = sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()),
                               SQLITE_TRANSIENT);
        break;
      }
    }
    return rc == SQLITE_OK ? Status::OK() : Error("bind");
  }

  // Reads the current row of `stmt` (columns in schema order) into a Record.
  Result<Record> ReadRow(sqlite3_stmt* stmt, std::vector<FieldValue>& values) {
    for (size_t i = 0; i < schema->size(); ++i) {
      Result<FieldValue> v = ReadValue(sqlite3_column_value(stmt, static_cast<int>(i)),
                                       schema->field(i));
      if (!v.ok()) {
        return Status::InvalidArgument(fmt::format("table '{}': a row does not fit the schema: {}",
                                                   options.table, v.status().message()));
      }
      values[i] = *v;
    }
    Result<Record> r = Record::FromValues(schema, values);
    if (!r.ok()) {
      return Status::InvalidArgument(
          fmt::format("table '{}': a row does not fit the schema: {}", options.table,
                      r.status().message()));
    }
    return r;
  }

  // Runs a query and streams its rows. REQUIRES: mu held; releases nothing.
  Status Query(const std::string& sql, std::span<const FieldValue> params, const RowSink& sink) {
    Result<sqlite3_stmt*> stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    for (size_t i = 0; i < params.size(); ++i) {
      Status s = Bind(*stmt, static_cast<int>(i + 1), params[i]);
      if (!s.ok()) return s;
    }
    std::vector<FieldValue> values(schema->size());
    for (;;) {
      const int rc = sqlite3_step(*stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) {
        Status s = Error("query");
        sqlite3_reset(*stmt);
        return s;
      }
      Result<Record> row = ReadRow(*stmt, values);
      if (!row.ok()) {
        sqlite3_reset(*stmt);
        return row.status();
      }
      Status s = sink(std::move(*row));
      if (!s.ok()) {
        sqlite3_reset(*stmt);
        return s;
      }
    }
    sqlite3_reset(*stmt);
    return Status::OK();
  }

  // Builds a Change from the pre-update hook's view of the row. REQUIRES: mu held.
  void Capture(int op) {
    const int n = sqlite3_preupdate_count(db);
    if (n != static_cast<int>(schema->size())) return;  // not the table we know
    const auto read = [&](bool old_row) -> Result<Record> {
      std::vector<FieldValue> values(schema->size());
      for (int i = 0; i < n; ++i) {
        sqlite3_value* v = nullptr;
        const int rc = old_row ? sqlite3_preupdate_old(db, i, &v) : sqlite3_preupdate_new(db, i, &v);
        if (rc != SQLITE_OK) return Error("pre-update read");
        Result<FieldValue> f = ReadValue(v, schema->field(static_cast<size_t>(i)));
        if (!f.ok()) return f.status();
        values[static_cast<size_t>(i)] = *f;
      }
      return Record::FromValues(schema, values);
    };
    const size_t pk = schema->primary_key_index();
    if (op == SQLITE_DELETE || op == SQLITE_UPDATE) {
      Result<Record> before = read(true);
      Result<Record> after = op == SQLITE_UPDATE ? read(false) : Result<Record>(Record());
      if (!before.ok() || !after.ok()) return;  // a row that does not fit is not reported
      if (op == SQLITE_UPDATE && before->Get(pk) == after->Get(pk)) {
        pending.push_back({ChangeKind::kUpdated, std::move(*after), Value(before->Get(pk))});
        return;
      }
      pending.push_back({ChangeKind::kDeleted, *before, Value(before->Get(pk))});
      if (op == SQLITE_UPDATE) {  // a changed primary key: a delete and a create
        pending.push_back({ChangeKind::kCreated, *after, Value(after->Get(pk))});
      }
      return;
    }
    Result<Record> after = read(false);
    if (after.ok()) pending.push_back({ChangeKind::kCreated, *after, Value(after->Get(pk))});
  }

  static void PreUpdateHook(void* ctx, sqlite3*, int op, const char*, const char* table,
                            sqlite3_int64, sqlite3_int64) {
    auto* self = static_cast<Impl*>(ctx);
    if (self->options.table == table) self->Capture(op);
  }
  static void RollbackHook(void* ctx) { static_cast<Impl*>(ctx)->pending.clear(); }

  // Takes the changes of a committed transaction. REQUIRES: mu held.
  std::vector<Change> TakeCommitted() {
    if (sqlite3_get_autocommit(db) == 0) return {};  // still inside BEGIN ... COMMIT
    return std::exchange(pending, {});
  }
};

SqliteSource::SqliteSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SqliteSource::~SqliteSource() = default;

Result<std::shared_ptr<SqliteSource>> SqliteSource::Open(SqliteSourceOptions options) {
  if (options.table.empty()) return Status::InvalidArgument("table: required");
  if (options.max_batch == 0) return Status::InvalidArgument("max_batch: must be positive");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                    SQLITE_OPEN_URI;
  if (sqlite3_open_v2(options.path.c_str(), &impl->db, flags, nullptr) != SQLITE_OK) {
    return Status::IOError(fmt::format("cannot open sqlite database '{}': {}", options.path,
                                       impl->db ? sqlite3_errmsg(impl->db) : "out of memory"));
  }
  sqlite3_busy_timeout(impl->db, options.busy_timeout_ms);

  std::vector<FieldSpec> fields;
  std::string table_pk;
  int pk_columns = 0;
  {
    std::lock_guard lock(impl->mu);
    Result<sqlite3_stmt*> info = impl->Prepare("PRAGMA table_info(" + Quote(options.table) + ")");
    if (!info.ok()) return info.status();
    while (sqlite3_step(*info) == SQLITE_ROW) {
      FieldSpec f;
      f.name = reinterpret_cast<const char*>(sqlite3_column_text(*info, 1));
      const char* declared = reinterpret_cast<const char*>(sqlite3_column_text(*info, 2));
      f.type = TypeFromDeclared(declared ? declared : "");
      f.nullable = sqlite3_column_int(*info, 3) == 0;
      if (sqlite3_column_int(*info, 5) > 0) {
        ++pk_columns;
        table_pk = f.name;
      }
      fields.push_back(std::move(f));
    }
    sqlite3_reset(*info);
  }
  if (fields.empty()) {
    return Status::InvalidArgument(
        fmt::format("sqlite table '{}' does not exist in '{}'", options.table, options.path));
  }
  std::string pk = options.primary_key;
  if (pk.empty()) {
    if (pk_columns != 1) {
      return Status::InvalidArgument(fmt::format(
          "sqlite table '{}' has {} primary key columns; name one with primary_key", options.table,
          pk_columns));
    }
    pk = table_pk;
  }
  Result<std::shared_ptr<const Schema>> schema = Schema::Create(std::move(fields), pk);
  if (!schema.ok()) {
    return Status::InvalidArgument(
        fmt::format("sqlite table '{}': {}", options.table, schema.status().message()));
  }
  impl->schema = *schema;
  impl->table_quoted = Quote(options.table);
  for (size_t i = 0; i < impl->schema->size(); ++i) {
    if (i) impl->select_columns += ", ";
    impl->select_columns += Quote(impl->schema->field(i).name);
  }
  sqlite3_preupdate_hook(impl->db, &Impl::PreUpdateHook, impl.get());
  sqlite3_rollback_hook(impl->db, &Impl::RollbackHook, impl.get());
  return std::shared_ptr<SqliteSource>(new SqliteSource(std::move(impl)));
}

Status SqliteSource::ExecuteScript(const std::string& path, std::string_view sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    Status s = Status::IOError(fmt::format("cannot open sqlite database '{}'", path));
    sqlite3_close(db);
    return s;
  }
  char* error = nullptr;
  const std::string text(sql);
  Status s;
  if (sqlite3_exec(db, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    s = Status::IOError(fmt::format("sqlite script on '{}': {} (sqlite code {})", path,
                                    error ? error : "failed", sqlite3_extended_errcode(db)));
  }
  sqlite3_free(error);
  sqlite3_close(db);
  return s;
}

Status SqliteSource::ExecuteScript(std::string_view sql) {
  std::vector<Change> committed;
  Status s;
  {
    std::lock_guard lock(impl_->mu);
    char* error = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(impl_->db, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
      s = Status::IOError(fmt::format("sqlite script on table '{}': {}", impl_->options.table,
                                      error ? error : "failed"));
    }
    sqlite3_free(error);
    committed = impl_->TakeCommitted();
  }
  impl_->fanout->Deliver(committed);
  return s;
}

Status SqliteSource::Execute(std::string_view sql, std::span<const FieldValue> params) {
  std::vector<Change> committed;
  Status s;
  {
    std::lock_guard lock(impl_->mu);
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(impl_->db, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return impl_->Error("prepare of '" + std::string(sql.substr(0, 80)) + "'");
    }
    for (size_t i = 0; i < params.size() && s.ok(); ++i) {
      s = impl_->Bind(stmt, static_cast<int>(i + 1), params[i]);
    }
    while (s.ok()) {
      const int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) break;
      if (rc != SQLITE_ROW) s = impl_->Error("execute");
    }
    sqlite3_finalize(stmt);
    committed = impl_->TakeCommitted();
  }
  impl_->fanout->Deliver(committed);  // outside the lock: listeners may query this source
  return s;
}

std::shared_ptr<const Schema> SqliteSource::schema() const { return impl_->schema; }
std::string_view SqliteSource::name() const { return impl_->options.table; }
size_t SqliteSource::max_batch() const { return impl_->options.max_batch; }

Result<std::optional<Record>> SqliteSource::FindById(const FieldValue& id) {
  return FindOne(impl_->schema->primary_key(), id);
}

Result<std::optional<Record>> SqliteSource::FindOne(std::string_view field,
                                                    const FieldValue& value) {
  if (!impl_->schema->Find(field)) {
    return Status::InvalidArgument(fmt::format("field '{}' is not in table '{}'", field,
                                               impl_->options.table));
  }
  const std::string sql = fmt::format("SELECT {} FROM {} WHERE {} = ?1 ORDER BY {} LIMIT 1",
                                      impl_->select_columns, impl_->table_quoted, Quote(field),
                                      Quote(impl_->schema->primary_key()));
  std::optional<Record> found;
  std::lock_guard lock(impl_->mu);
  Status s = impl_->Query(sql, std::span<const FieldValue>(&value, 1), [&](Record&& row) {
    found = std::move(row);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return found;
}

Status SqliteSource::FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                                 const RowSink& sink) {
  if (!impl_->schema->Find(field)) {
    return Status::InvalidArgument(fmt::format("field '{}' is not in table '{}'", field,
                                               impl_->options.table));
  }
  const size_t batch = impl_->options.max_batch;
  for (size_t begin = 0; begin < values.size(); begin += batch) {
    const size_t n = std::min(batch, values.size() - begin);
    std::string placeholders;
    for (size_t i = 0; i < n; ++i) placeholders += i ? ",?" : "?";
    const std::string sql = fmt::format("SELECT {} FROM {} WHERE {} IN ({})", impl_->select_columns,
                                        impl_->table_quoted, Quote(field), placeholders);
    std::lock_guard lock(impl_->mu);
    Status s = impl_->Query(sql, values.subspan(begin, n), sink);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status SqliteSource::FindAll(const RowSink& sink) {
  const std::string sql =
      fmt::format("SELECT {} FROM {}", impl_->select_columns, impl_->table_quoted);
  std::lock_guard lock(impl_->mu);
  return impl_->Query(sql, {}, sink);
}

Status SqliteSource::FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                                      const RowSink& sink) {
  const std::optional<size_t> index = impl_->schema->Find(field);
  if (!index) {
    return Status::FailedPrecondition(
        fmt::format("table '{}' has no updated-at column '{}'", impl_->options.table, field));
  }
  const FieldType type = impl_->schema->field(*index).type;
  std::string condition;
  FieldValue bound = watermark;
  if (type == FieldType::kTimestamp && watermark.type() == FieldType::kTimestamp) {
    // Compare as epoch milliseconds whatever the storage (text, integer ms, real Julian day).
    // At-or-after, so rows sharing the watermark's millisecond are fetched again, not missed.
    condition = fmt::format(
        "(CASE typeof({0}) WHEN 'integer' THEN {0} WHEN 'real' THEN ({0} - 2440587.5) * 86400000.0 "
        "ELSE (julianday({0}) - 2440587.5) * 86400000.0 END) >= ?1",
        Quote(field));
    bound = FieldValue::Double(static_cast<double>(watermark.as_timestamp().millis()) - 0.5);
  } else if (type == FieldType::kInt64 && watermark.type() == FieldType::kInt64) {
    condition = Quote(field) + " >= ?1";
  } else {
    return Status::InvalidArgument(fmt::format(
        "updated-at field '{}' is {}, the watermark {}", field, FieldTypeName(type),
        FieldTypeName(watermark.type())));
  }
  const std::string sql = fmt::format("SELECT {} FROM {} WHERE {}", impl_->select_columns,
                                      impl_->table_quoted, condition);
  std::lock_guard lock(impl_->mu);
  return impl_->Query(sql, std::span<const FieldValue>(&bound, 1), sink);
}

Result<std::unique_ptr<ChangeSubscription>> SqliteSource::SubscribeChanges(
    ChangeListener listener) {
  return impl_->fanout->Add(std::move(listener));
}

}  // namespace larder
