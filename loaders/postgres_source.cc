// PostgresSource: catalog-driven schema, text-format queries, streamed scans, and a
// LISTEN/NOTIFY change feed with its own connection and thread.
#include "larder/postgres_source.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>

#include "loaders/change_fanout.h"

namespace larder {
namespace {

std::string QuoteIdent(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

FieldType TypeFromPg(std::string_view typname) {
  if (typname == "bool") return FieldType::kBool;
  if (typname == "int2" || typname == "int4" || typname == "int8" || typname == "oid") {
    return FieldType::kInt64;
  }
  if (typname == "float4" || typname == "float8" || typname == "numeric") return FieldType::kDouble;
  if (typname == "bytea") return FieldType::kBytes;
  if (typname == "date" || typname == "timestamp" || typname == "timestamptz") {
    return FieldType::kTimestamp;
  }
  return FieldType::kString;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A field's value from PostgreSQL's text form. String payloads point into `text` or `scratch`.
Result<FieldValue> FromText(const FieldSpec& f, std::string_view text, std::string* scratch) {
  const auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(
        fmt::format("field '{}': {} ('{}')", f.name, why, text.substr(0, 40)));
  };
  switch (f.type) {
    case FieldType::kBool:
      if (text == "t" || text == "true") return FieldValue::Bool(true);
      if (text == "f" || text == "false") return FieldValue::Bool(false);
      return bad("not a boolean");
    case FieldType::kInt64: {
      int64_t v;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return bad("not an integer");
      return FieldValue::Int64(v);
    }
    case FieldType::kDouble: {
      double v;
      const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return bad("not a number");
      return FieldValue::Double(v);
    }
    case FieldType::kBytes: {
      if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) {
        return bad("not hex bytea");
      }
      scratch->clear();
      for (size_t i = 2; i < text.size(); i += 2) {
        const int hi = HexValue(text[i]), lo = HexValue(text[i + 1]);
        if (hi < 0 || lo < 0) return bad("not hex bytea");
        scratch->push_back(static_cast<char>(hi * 16 + lo));
      }
      return FieldValue::Bytes(*scratch);
    }
    case FieldType::kTimestamp: {
      if (text == "infinity") return FieldValue::Time({std::numeric_limits<int64_t>::max()});
      if (text == "-infinity") return FieldValue::Time({std::numeric_limits<int64_t>::min()});
      Result<Timestamp> t = ParseTimestamp(text);
      if (!t.ok()) return bad(t.status().message());
      return FieldValue::Time(*t);
    }
    case FieldType::kString: return FieldValue::String(text);
    case FieldType::kNull: break;
  }
  return bad("unsupported type");
}

// A parameter in PostgreSQL's text form.
std::string ToText(const FieldValue& v) {
  static constexpr char kHex[] = "0123456789abcdef";
  switch (v.type()) {
    case FieldType::kNull: return {};
    case FieldType::kBool: return v.as_bool() ? "t" : "f";
    case FieldType::kInt64: return std::to_string(v.as_int64());
    case FieldType::kDouble: {
      const double d = v.as_double();
      if (std::isnan(d)) return "NaN";
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, d);
      return std::string(buf, r.ptr);
    }
    case FieldType::kString: return std::string(v.as_string());
    case FieldType::kBytes: {
      std::string out = "\\x";
      for (char c : v.as_bytes()) {
        out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
        out.push_back(kHex[static_cast<unsigned char>(c) & 15]);
      }
      return out;
    }
    case FieldType::kTimestamp: return FormatTimestamp(v.as_timestamp());
  }
  return {};
}

struct PgResult {
  explicit PgResult(PGresult* r) : res(r) {}
  ~PgResult() { PQclear(res); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PGresult* res;
};

}  // namespace

struct PostgresSource::Impl {
  PostgresSourceOptions options;
  std::shared_ptr<const Schema> schema;
  std::string select_sql;  // SELECT "a", "b" ... FROM "schema"."table"
  std::string table_sql;

  std::mutex mu;  // the query connection
  PGconn* conn = nullptr;

  std::shared_ptr<loaders::ChangeFanout> fanout = std::make_shared<loaders::ChangeFanout>();
  std::mutex listener_mu;
  std::condition_variable listener_cv;
  bool listener_started = false;  // guarded by listener_mu
  std::thread listener;
  std::atomic<bool> stop{false};

  ~Impl() {
    stop.store(true);
    if (listener.joinable()) listener.join();
    if (conn != nullptr) PQfinish(conn);
  }

  static Status ConnectionError(PGconn* c, std::string_view what) {
    return Status::Unavailable(fmt::format("postgres {}: {}", what,
                                           c ? PQerrorMessage(c) : "cannot allocate a connection"));
  }

  static Status Prepare(PGconn* c) {
    // Timestamps come back as ISO text in UTC, which ParseTimestamp reads exactly.
    PgResult r(PQexec(c, "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; "
                         "SET client_encoding = 'UTF8'"));
    if (PQresultStatus(r.res) != PGRES_COMMAND_OK) return ConnectionError(c, "session setup");
    return Status::OK();
  }

  // A usable query connection, reconnecting if it dropped. REQUIRES: mu held.
  Status Ensure() {
    if (conn != nullptr && PQstatus(conn) == CONNECTION_OK) return Status::OK();
    if (conn == nullptr) {
      conn = PQconnectdb(options.conninfo.c_str());
    } else {
      PQreset(conn);
    }
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return ConnectionError(conn, "connect");
    return Prepare(conn);
  }

  // Runs `sql`; calls on_row(values) per row (values in schema order). REQUIRES: mu held.
  Status Run(const std::string& sql, std::span<const FieldValue> params, bool stream,
             const std::function<Status(PGresult*, int)>& on_row) {
    Status s = Ensure();
    if (!s.ok()) return s;
    std::vector<std::string> texts;
    std::vector<const char*> values;
    texts.reserve(params.size());
    for (const FieldValue& p : params) texts.push_back(ToText(p));
    for (size_t i = 0; i < params.size(); ++i) {
      values.push_back(params[i].is_null() ? nullptr : texts[i].c_str());
    }
    if (!PQsendQueryParams(conn, sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0)) {
      return ConnectionError(conn, "query");
    }
    if (stream) PQsetSingleRowMode(conn);
    Status result;
    for (;;) {
      PGresult* raw = PQgetResult(conn);
      if (raw == nullptr) break;
      PgResult r(raw);
      const ExecStatusType st = PQresultStatus(r.res);
      if (st == PGRES_SINGLE_TUPLE || st == PGRES_TUPLES_OK) {
        for (int row = 0; row < PQntuples(r.res) && result.ok(); ++row) result = on_row(r.res, row);
      } else if (st != PGRES_COMMAND_OK && result.ok()) {
        const char* msg = PQresultErrorMessage(r.res);
        // No SQLSTATE (the connection died), class 08 (connection exception) or 57P (the
        // server is shutting down): the source is unavailable, not the query wrong.
        const char* state = PQresultErrorField(r.res, PG_DIAG_SQLSTATE);
        const std::string_view code = state != nullptr ? state : "";
        const bool gone = code.empty() || code.rfind("08", 0) == 0 || code.rfind("57P", 0) == 0;
        result = gone ? Status::Unavailable(fmt::format("postgres on {}: {}", options.table, msg))
                      : Status::IOError(fmt::format("postgres on {}: {}", options.table, msg));
      }
    }
    if (PQstatus(conn) != CONNECTION_OK) return ConnectionError(conn, "query");
    return result;
  }

  Result<Record> ReadRow(PGresult* res, int row) {
    std::vector<FieldValue> values(schema->size());
    std::vector<std::string> scratch(schema->size());
    for (size_t i = 0; i < schema->size(); ++i) {
      const int col = static_cast<int>(i);
      if (PQgetisnull(res, row, col)) continue;
      Result<FieldValue> v = FromText(
          schema->field(i),
          {PQgetvalue(res, row, col), static_cast<size_t>(PQgetlength(res, row, col))},
          &scratch[i]);
      if (!v.ok()) {
        return Status::InvalidArgument(fmt::format("table '{}': a row does not fit the schema: {}",
                                                   options.table, v.status().message()));
      }
      values[i] = *v;
    }
    return Record::FromValues(schema, values);
  }

  Status Query(const std::string& sql, std::span<const FieldValue> params, bool stream,
               const RowSink& sink) {
    std::lock_guard lock(mu);
    return Run(sql, params, stream, [&](PGresult* res, int row) {
      Result<Record> r = ReadRow(res, row);
      if (!r.ok()) return r.status();
      return sink(std::move(*r));
    });
  }

  // ---- change feed ----

  std::string channel() const {
    return options.channel.empty() ? "larder_" + options.table : options.channel;
  }

  // Starts the listener and waits until it LISTENs (or its first attempt failed), so that a
  // change committed after SubscribeChanges returns is never missed.
  void StartListener() {
    std::unique_lock lock(listener_mu);
    if (listener.joinable()) return;
    listener = std::thread([this] { Listen(); });
    listener_cv.wait(lock, [&] { return listener_started; });
  }
  void MarkStarted() {
    {
      std::lock_guard lock(listener_mu);
      listener_started = true;
    }
    listener_cv.notify_all();
  }

  // The listener's connection, LISTENing; nullptr while the server is away.
  PGconn* ConnectListener() {
    PGconn* c = PQconnectdb(options.conninfo.c_str());
    if (c == nullptr || PQstatus(c) != CONNECTION_OK || !Prepare(c).ok()) {
      if (c != nullptr) PQfinish(c);
      return nullptr;
    }
    PgResult r(PQexec(c, ("LISTEN " + QuoteIdent(channel())).c_str()));
    if (PQresultStatus(r.res) != PGRES_COMMAND_OK) {
      PQfinish(c);
      return nullptr;
    }
    return c;
  }

  void Listen() {
    PGconn* c = ConnectListener();
    MarkStarted();
    Duration backoff = options.reconnect_min;
    bool lost = c == nullptr;
    while (!stop.load()) {
      if (c == nullptr) {
        std::this_thread::sleep_for(backoff);  // reconnect backoff, not a test wait
        backoff = std::min(backoff * 2, options.reconnect_max);
        c = ConnectListener();
        if (c != nullptr && lost) {
          // Changes made while we were away were not seen: ask subscribers to resync.
          Change resync;
          resync.kind = ChangeKind::kResync;
          fanout->Deliver(std::span<const Change>(&resync, 1));
          lost = false;
        }
        continue;
      }
      pollfd pfd{PQsocket(c), POLLIN, 0};
      poll(&pfd, 1, 100);
      if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK) {
        PQfinish(c);
        c = nullptr;
        lost = true;
        backoff = options.reconnect_min;
        continue;
      }
      std::vector<std::string> payloads;
      while (PGnotify* n = PQnotifies(c)) {
        payloads.emplace_back(n->extra);
        PQfreemem(n);
      }
      if (!payloads.empty()) Dispatch(payloads);
    }
    if (c != nullptr) PQfinish(c);
  }

  // Turns notification payloads into changes, fetching the changed rows in batches.
  void Dispatch(const std::vector<std::string>& payloads) {
    const FieldSpec& pk_field = schema->field(schema->primary_key_index());
    std::vector<Change> changes;
    std::vector<Value> to_fetch;
    simdjson::dom::parser parser;
    for (const std::string& p : payloads) {
      simdjson::dom::element doc;
      if (parser.parse(p).get(doc)) continue;
      std::string_view op;
      if (doc["op"].get(op)) continue;
      simdjson::dom::element pk_json;
      if (doc["pk"].get(pk_json)) continue;
      std::string text;
      if (pk_json.is_int64()) {
        text = std::to_string(int64_t(pk_json));
      } else if (pk_json.is_string()) {
        text = std::string(std::string_view(pk_json));
      } else {
        continue;
      }
      std::string scratch;
      Result<FieldValue> pk = FromText(pk_field, text, &scratch);
      if (!pk.ok()) continue;
      Change c;
      c.primary_key = Value(*pk);
      c.kind = op == "DELETE" ? ChangeKind::kDeleted
               : op == "INSERT" ? ChangeKind::kCreated
                                : ChangeKind::kUpdated;
      if (c.kind != ChangeKind::kDeleted) to_fetch.push_back(c.primary_key);
      changes.push_back(std::move(c));
    }
    std::map<std::string, Record> rows;  // by the primary key's text form
    if (!to_fetch.empty()) {
      std::vector<FieldValue> views(to_fetch.begin(), to_fetch.end());
      const std::string sql_prefix = select_sql + " WHERE " + QuoteIdent(pk_field.name) + " IN (";
      for (size_t begin = 0; begin < views.size(); begin += options.max_batch) {
        const size_t n = std::min(options.max_batch, views.size() - begin);
        std::string sql = sql_prefix;
        for (size_t i = 0; i < n; ++i) sql += fmt::format("{}${}", i ? "," : "", i + 1);
        sql += ")";
        (void)Query(sql, std::span<const FieldValue>(views).subspan(begin, n), false,
                    [&](Record&& row) {
                      rows.emplace(ToText(row.primary_key()), std::move(row));
                      return Status::OK();
                    });
      }
    }
    for (Change& c : changes) {
      if (c.kind == ChangeKind::kDeleted) continue;
      auto it = rows.find(ToText(c.primary_key.view()));
      if (it == rows.end()) {
        c.kind = ChangeKind::kDeleted;  // gone again since it changed
      } else {
        c.row = it->second;
      }
    }
    fanout->Deliver(changes);
  }
};

PostgresSource::PostgresSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresSource::~PostgresSource() = default;

Result<std::shared_ptr<PostgresSource>> PostgresSource::Open(PostgresSourceOptions options) {
  if (options.table.empty()) return Status::InvalidArgument("table: required");
  if (options.max_batch == 0) return Status::InvalidArgument("max_batch: must be positive");
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  std::vector<FieldSpec> fields;
  std::string table_pk;
  int pk_columns = 0;
  {
    std::lock_guard lock(impl->mu);
    const FieldValue params[] = {FieldValue::String(options.schema_name),
                                 FieldValue::String(options.table)};
    Status s = impl->Run(
        "SELECT a.attname, t.typname, a.attnotnull, "
        "  COALESCE(a.attnum = ANY (i.indkey), false) AS is_pk "
        "FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_type t ON t.oid = a.atttypid "
        "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary "
        "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum",
        params, false, [&](PGresult* res, int row) {
          FieldSpec f;
          f.name = PQgetvalue(res, row, 0);
          f.type = TypeFromPg(PQgetvalue(res, row, 1));
          f.nullable = std::string_view(PQgetvalue(res, row, 2)) != "t";
          if (std::string_view(PQgetvalue(res, row, 3)) == "t") {
            ++pk_columns;
            table_pk = f.name;
          }
          fields.push_back(std::move(f));
          return Status::OK();
        });
    if (!s.ok()) return s;
  }
  if (fields.empty()) {
    return Status::InvalidArgument(fmt::format("postgres table {}.{} does not exist",
                                               options.schema_name, options.table));
  }
  std::string pk = options.primary_key;
  if (pk.empty()) {
    if (pk_columns != 1) {
      return Status::InvalidArgument(fmt::format(
          "postgres table '{}' has {} primary key columns; name one with primary_key",
          options.table, pk_columns));
    }
    pk = table_pk;
  }
  Result<std::shared_ptr<const Schema>> schema = Schema::Create(fields, pk);
  if (!schema.ok()) {
    return Status::InvalidArgument(
        fmt::format("postgres table '{}': {}", options.table, schema.status().message()));
  }
  impl->schema = *schema;
  impl->table_sql = QuoteIdent(options.schema_name) + "." + QuoteIdent(options.table);
  std::string columns;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) columns += ", ";
    columns += QuoteIdent(fields[i].name);
  }
  impl->select_sql = "SELECT " + columns + " FROM " + impl->table_sql;
  return std::shared_ptr<PostgresSource>(new PostgresSource(std::move(impl)));
}

Status PostgresSource::InstallChangeTrigger() {
  const std::string table = impl_->options.table;
  const std::string fn = QuoteIdent(impl_->options.schema_name) + "." +
                         QuoteIdent("larder_notify_" + table);
  const std::string trigger = QuoteIdent("larder_notify_" + table);
  const std::string pk = QuoteIdent(impl_->schema->primary_key());
  const std::string sql = fmt::format(
      "CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $larder$\n"
      "BEGIN\n"
      "  IF TG_OP = 'DELETE' THEN\n"
      "    PERFORM pg_notify({ch}, json_build_object('op', TG_OP, 'pk', OLD.{pk})::text);\n"
      "  ELSE\n"
      "    IF TG_OP = 'UPDATE' AND OLD.{pk} IS DISTINCT FROM NEW.{pk} THEN\n"
      "      PERFORM pg_notify({ch}, json_build_object('op', 'DELETE', 'pk', OLD.{pk})::text);\n"
      "    END IF;\n"
      "    PERFORM pg_notify({ch}, json_build_object('op', TG_OP, 'pk', NEW.{pk})::text);\n"
      "  END IF;\n"
      "  RETURN NULL;\n"
      "END $larder$;\n"
      "DROP TRIGGER IF EXISTS {trigger} ON {table};\n"
      "CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE OR DELETE ON {table}\n"
      "  FOR EACH ROW EXECUTE FUNCTION {fn}();",
      fmt::arg("fn", fn), fmt::arg("ch", QuoteLiteral(impl_->channel())), fmt::arg("pk", pk),
      fmt::arg("trigger", trigger), fmt::arg("table", impl_->table_sql));
  std::lock_guard lock(impl_->mu);
  Status s = impl_->Ensure();
  if (!s.ok()) return s;
  PgResult r(PQexec(impl_->conn, sql.c_str()));
  if (PQresultStatus(r.res) != PGRES_COMMAND_OK) {
    return Status::IOError(fmt::format("installing the change trigger on '{}': {}", table,
                                       PQresultErrorMessage(r.res)));
  }
  return Status::OK();
}

Status PostgresSource::Execute(std::string_view sql, std::span<const FieldValue> params) {
  std::lock_guard lock(impl_->mu);
  return impl_->Run(std::string(sql), params, false, [](PGresult*, int) { return Status::OK(); });
}

std::shared_ptr<const Schema> PostgresSource::schema() const { return impl_->schema; }
std::string_view PostgresSource::name() const { return impl_->options.table; }
size_t PostgresSource::max_batch() const { return impl_->options.max_batch; }

Result<std::optional<Record>> PostgresSource::FindById(const FieldValue& id) {
  return FindOne(impl_->schema->primary_key(), id);
}

Result<std::optional<Record>> PostgresSource::FindOne(std::string_view field,
                                                      const FieldValue& value) {
  if (!impl_->schema->Find(field)) {
    return Status::InvalidArgument(
        fmt::format("field '{}' is not in table '{}'", field, impl_->options.table));
  }
  const std::string sql =
      fmt::format("{} WHERE {} = $1 ORDER BY {} LIMIT 1", impl_->select_sql, QuoteIdent(field),
                  QuoteIdent(impl_->schema->primary_key()));
  std::optional<Record> found;
  Status s = impl_->Query(sql, std::span<const FieldValue>(&value, 1), false, [&](Record&& row) {
    found = std::move(row);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return found;
}

Status PostgresSource::FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                                   const RowSink& sink) {
  if (!impl_->schema->Find(field)) {
    return Status::InvalidArgument(
        fmt::format("field '{}' is not in table '{}'", field, impl_->options.table));
  }
  for (size_t begin = 0; begin < values.size(); begin += impl_->options.max_batch) {
    const size_t n = std::min(impl_->options.max_batch, values.size() - begin);
    std::string sql = fmt::format("{} WHERE {} IN (", impl_->select_sql, QuoteIdent(field));
    for (size_t i = 0; i < n; ++i) sql += fmt::format("{}${}", i ? "," : "", i + 1);
    sql += ")";
    Status s = impl_->Query(sql, values.subspan(begin, n), false, sink);
    if (!s.ok()) return s;
  }
  return Status::OK();
}

Status PostgresSource::FindAll(const RowSink& sink) {
  return impl_->Query(impl_->select_sql, {}, /*stream=*/true, sink);
}

Status PostgresSource::FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                                        const RowSink& sink) {
  const std::optional<size_t> index = impl_->schema->Find(field);
  if (!index) {
    return Status::FailedPrecondition(
        fmt::format("table '{}' has no updated-at column '{}'", impl_->options.table, field));
  }
  if (impl_->schema->field(*index).type != watermark.type()) {
    return Status::InvalidArgument(fmt::format("updated-at field '{}' is {}, the watermark {}",
                                               field,
                                               FieldTypeName(impl_->schema->field(*index).type),
                                               FieldTypeName(watermark.type())));
  }
  const std::string sql =
      fmt::format("{} WHERE {} >= $1", impl_->select_sql, QuoteIdent(field));
  return impl_->Query(sql, std::span<const FieldValue>(&watermark, 1), true, sink);
}

Result<std::unique_ptr<ChangeSubscription>> PostgresSource::SubscribeChanges(
    ChangeListener listener) {
  auto sub = impl_->fanout->Add(std::move(listener));
  impl_->StartListener();
  return sub;
}

}  // namespace larder
