// Records: immutable rows of typed fields sharing a Schema. Start with Schema::Create and
// RecordBuilder; RecordCache (record_cache.h) stores and serves them.
//
// A Record is one allocation holding every field: fixed-size values inline, strings and bytes in
// a tail area. Field values are read through FieldValue, a small view (no std::string or
// std::variant per field). Records are immutable; copies share the same bytes.
//
// Thread safety: Schema, Record and RecordView are immutable and safe to read from any thread.
// RecordBuilder is not thread-safe. A FieldValue or RecordView borrows the bytes it points into.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder {

// Frozen values: they appear in persisted data.
enum class FieldType : uint8_t {
  kNull = 0,  // only as the type of a null value, never as a column type
  kBool = 1,
  kInt64 = 2,
  kDouble = 3,
  kString = 4,  // UTF-8 text (validated); binary data goes in kBytes
  kBytes = 5,
  kTimestamp = 6,  // microseconds since the Unix epoch, UTC
};
std::string_view FieldTypeName(FieldType type) noexcept;

// A point in time as microseconds since the Unix epoch (UTC).
struct Timestamp {
  int64_t micros = 0;
  // REQUIRES: |ms| <= INT64_MAX / 1000.
  static Timestamp FromMillis(int64_t ms) { return {ms * 1000}; }
  int64_t millis() const { return micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000); }
  friend bool operator==(Timestamp a, Timestamp b) { return a.micros == b.micros; }
  friend bool operator<(Timestamp a, Timestamp b) { return a.micros < b.micros; }
};
// ISO 8601 in UTC with millisecond or (when needed) microsecond precision:
// "2024-05-01T12:34:56.789Z" or "2024-05-01T12:34:56.789012Z".
std::string FormatTimestamp(Timestamp t);
// The same text, appended to *out.
void AppendTimestamp(std::string* out, Timestamp t);
// Parses ISO 8601 ("YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)", or "YYYY-MM-DD HH:MM:SS" as
// SQLite writes it, taken as UTC). InvalidArgument names what is wrong.
Result<Timestamp> ParseTimestamp(std::string_view text);

// One field's value: its type and payload. A view: string and bytes payloads point into the
// record (or buffer) the value came from.
class FieldValue {
 public:
  FieldValue() noexcept = default;  // null
  static FieldValue Null() noexcept { return {}; }
  static FieldValue Bool(bool v) noexcept;
  static FieldValue Int64(int64_t v) noexcept;
  static FieldValue Double(double v) noexcept;
  static FieldValue String(std::string_view v) noexcept;
  static FieldValue Bytes(std::string_view v) noexcept;
  static FieldValue Time(Timestamp v) noexcept;

  FieldType type() const noexcept { return type_; }
  bool is_null() const noexcept { return type_ == FieldType::kNull; }
  // REQUIRES: the matching type.
  bool as_bool() const noexcept { return scalar_ != 0; }
  int64_t as_int64() const noexcept { return scalar_; }
  double as_double() const noexcept;
  std::string_view as_string() const noexcept { return {data_, size_}; }
  std::string_view as_bytes() const noexcept { return {data_, size_}; }
  Timestamp as_timestamp() const noexcept { return {scalar_}; }

  // Equal when type and payload are equal: Int64(1) and String("1") differ.
  friend bool operator==(const FieldValue& a, const FieldValue& b) noexcept;
  // For messages and logs: 42, 1.5, true, null, "text", bytes(3), 2024-05-01T00:00:00.000Z.
  std::string ToString() const;

 private:
  FieldType type_ = FieldType::kNull;
  uint32_t size_ = 0;
  int64_t scalar_ = 0;  // bool, int64, timestamp micros, or double bits
  const char* data_ = nullptr;
};

// An owned field value: a FieldValue whose string or bytes payload it keeps. For primary keys in
// change events and for callers who need a value to outlive its record.
class Value {
 public:
  Value() = default;  // null
  Value(const FieldValue& v) { Assign(v); }  // NOLINT: implicit by design
  Value(int64_t v) : Value(FieldValue::Int64(v)) {}  // NOLINT
  Value(int v) : Value(FieldValue::Int64(v)) {}  // NOLINT
  Value(std::string_view v) : Value(FieldValue::String(v)) {}  // NOLINT
  Value(const char* v) : Value(FieldValue::String(v)) {}  // NOLINT
  Value(const Value& o) { Assign(o.view()); }
  Value& operator=(const Value& o) {
    if (this != &o) Assign(o.view());
    return *this;
  }
  Value(Value&& o) noexcept { *this = std::move(o); }
  Value& operator=(Value&& o) noexcept {
    storage_ = std::move(o.storage_);
    view_ = Payload(o.view_.type()) ? Repoint(o.view_.type()) : o.view_;
    return *this;
  }

  const FieldValue& view() const noexcept { return view_; }
  operator const FieldValue&() const noexcept { return view_; }  // NOLINT
  friend bool operator==(const Value& a, const Value& b) noexcept { return a.view_ == b.view_; }

 private:
  static bool Payload(FieldType t) { return t == FieldType::kString || t == FieldType::kBytes; }
  FieldValue Repoint(FieldType t) const {
    return t == FieldType::kBytes ? FieldValue::Bytes(storage_) : FieldValue::String(storage_);
  }
  void Assign(const FieldValue& v) {
    if (Payload(v.type())) {
      storage_.assign(v.as_bytes());
      view_ = Repoint(v.type());
    } else {
      storage_.clear();
      view_ = v;
    }
  }
  std::string storage_;
  FieldValue view_;
};

struct FieldSpec {
  std::string name{};
  FieldType type = FieldType::kString;
  bool nullable = true;
};

// Field names and types of a table, and which field is the primary key. Immutable, shared.
class Schema {
 public:
  // InvalidArgument for a duplicate or empty name, a kNull column type, a primary key that is
  // not a field, or a nullable or double-typed primary key.
  static Result<std::shared_ptr<const Schema>> Create(std::vector<FieldSpec> fields,
                                                      std::string_view primary_key = "id");

  size_t size() const noexcept { return fields_.size(); }
  const FieldSpec& field(size_t i) const noexcept { return fields_[i]; }
  const std::vector<FieldSpec>& fields() const noexcept { return fields_; }
  // Index of the field called `name`.
  std::optional<size_t> Find(std::string_view name) const noexcept;
  size_t primary_key_index() const noexcept { return pk_; }
  const std::string& primary_key() const noexcept { return fields_[pk_].name; }

  // Same fields (names, types, nullability, order) and primary key.
  friend bool operator==(const Schema& a, const Schema& b) noexcept;
  // "id:int64 pk, email:string, ..." for messages.
  std::string ToString() const;

 private:
  Schema(std::vector<FieldSpec> fields, size_t pk) : fields_(std::move(fields)), pk_(pk) {}
  std::vector<FieldSpec> fields_;
  size_t pk_;
};

// A non-owning view of an encoded record. Valid while the bytes it views are.
class RecordView {
 public:
  RecordView() noexcept = default;
  RecordView(const Schema* schema, std::string_view bytes) noexcept
      : schema_(schema), bytes_(bytes) {}

  bool valid() const noexcept { return schema_ != nullptr; }
  const Schema& schema() const noexcept { return *schema_; }
  size_t size() const noexcept { return schema_->size(); }
  // REQUIRES: i < size().
  FieldValue Get(size_t i) const noexcept;
  // Null FieldValue when no field has that name; check schema().Find() to tell them apart.
  FieldValue Get(std::string_view name) const noexcept;
  FieldValue primary_key() const noexcept { return Get(schema_->primary_key_index()); }
  // The encoded form: what caches store and snapshots persist.
  std::string_view bytes() const noexcept { return bytes_; }

  // A JSON object with one member per field, in schema order. int64 values are written as exact
  // integers, timestamps as ISO 8601 strings, bytes as base64 strings.
  std::string ToJson() const;
  void AppendJson(std::string* out) const;

 private:
  const Schema* schema_ = nullptr;
  std::string_view bytes_;
};

// An owned, immutable record: one allocation, shared by copies.
class Record {
 public:
  Record() noexcept = default;  // empty: valid() is false

  bool valid() const noexcept { return schema_ != nullptr; }
  const std::shared_ptr<const Schema>& schema_ptr() const noexcept { return schema_; }
  RecordView view() const noexcept { return RecordView(schema_.get(), {data_.get(), size_}); }
  FieldValue Get(size_t i) const noexcept { return view().Get(i); }
  FieldValue Get(std::string_view name) const noexcept { return view().Get(name); }
  FieldValue primary_key() const noexcept { return view().primary_key(); }
  std::string_view bytes() const noexcept { return {data_.get(), size_}; }
  std::string ToJson() const { return view().ToJson(); }

  // Copies an encoded record, checking it fits `schema` (Corruption names the problem).
  static Result<Record> FromBytes(std::shared_ptr<const Schema> schema, std::string_view bytes);
  static Record FromView(std::shared_ptr<const Schema> schema, RecordView view);
  // Encodes one value per schema field (in schema order) in a single pass; string payloads are
  // copied into the record. InvalidArgument names the first field that does not fit.
  static Result<Record> FromValues(std::shared_ptr<const Schema> schema,
                                   std::span<const FieldValue> values);
  // Parses one JSON object shaped like ToJson's output. Members not in the schema are ignored;
  // missing members are null. InvalidArgument names the field and the problem.
  static Result<Record> FromJson(std::shared_ptr<const Schema> schema, std::string_view json);

  friend bool operator==(const Record& a, const Record& b) noexcept {
    return a.bytes() == b.bytes();
  }

 private:
  friend class RecordBuilder;
  std::shared_ptr<const Schema> schema_;
  std::shared_ptr<const char[]> data_;
  size_t size_ = 0;
};

// Builds a Record field by field. Fields not set are null.
class RecordBuilder {
 public:
  explicit RecordBuilder(std::shared_ptr<const Schema> schema);

  // Sets field `i` / `name`. The value's type must match the field's (null allowed when the
  // field is nullable); mismatches are reported by Build(), naming the field.
  RecordBuilder& Set(size_t i, const FieldValue& v);
  RecordBuilder& Set(std::string_view name, const FieldValue& v);
  // Shorthands.
  RecordBuilder& Set(std::string_view name, int64_t v) { return Set(name, FieldValue::Int64(v)); }
  RecordBuilder& Set(std::string_view name, int v) { return Set(name, FieldValue::Int64(v)); }
  RecordBuilder& Set(std::string_view name, const char* v) {
    return Set(name, FieldValue::String(v));
  }
  RecordBuilder& Set(std::string_view name, std::string_view v) {
    return Set(name, FieldValue::String(v));
  }

  // InvalidArgument for an unknown name, a type mismatch, or a null in a non-null field.
  Result<Record> Build() const;
  // Clears every field back to null (keeps the schema), to reuse the builder.
  void Reset();

 private:
  std::shared_ptr<const Schema> schema_;
  std::vector<FieldValue> values_;
  std::vector<std::string> owned_;  // copies of string payloads
  std::string error_;
};

}  // namespace larder
