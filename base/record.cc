// Schema, FieldValue, RecordView field access, Record and RecordBuilder.
#include "larder/record.h"

#include <algorithm>
#include <bit>
#include <unordered_set>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/record_format.h"

namespace larder {

std::string_view FieldTypeName(FieldType type) noexcept {
  switch (type) {
    case FieldType::kNull: return "null";
    case FieldType::kBool: return "bool";
    case FieldType::kInt64: return "int64";
    case FieldType::kDouble: return "double";
    case FieldType::kString: return "string";
    case FieldType::kBytes: return "bytes";
    case FieldType::kTimestamp: return "timestamp";
  }
  return "unknown";
}

// ---- FieldValue ----

FieldValue FieldValue::Bool(bool v) noexcept {
  FieldValue f;
  f.type_ = FieldType::kBool;
  f.scalar_ = v ? 1 : 0;
  return f;
}
FieldValue FieldValue::Int64(int64_t v) noexcept {
  FieldValue f;
  f.type_ = FieldType::kInt64;
  f.scalar_ = v;
  return f;
}
FieldValue FieldValue::Double(double v) noexcept {
  FieldValue f;
  f.type_ = FieldType::kDouble;
  f.scalar_ = std::bit_cast<int64_t>(v);
  return f;
}
FieldValue FieldValue::String(std::string_view v) noexcept {
  FieldValue f;
  f.type_ = FieldType::kString;
  f.data_ = v.data();
  f.size_ = static_cast<uint32_t>(v.size());
  return f;
}
FieldValue FieldValue::Bytes(std::string_view v) noexcept {
  FieldValue f = String(v);
  f.type_ = FieldType::kBytes;
  return f;
}
FieldValue FieldValue::Time(Timestamp v) noexcept {
  FieldValue f;
  f.type_ = FieldType::kTimestamp;
  f.scalar_ = v.micros;
  return f;
}
double FieldValue::as_double() const noexcept { return std::bit_cast<double>(scalar_); }

bool operator==(const FieldValue& a, const FieldValue& b) noexcept {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case FieldType::kNull: return true;
    case FieldType::kString:
    case FieldType::kBytes: return a.as_string() == b.as_string();
    case FieldType::kDouble: return a.as_double() == b.as_double();
    default: return a.scalar_ == b.scalar_;
  }
}

std::string FieldValue::ToString() const {
  switch (type_) {
    case FieldType::kNull: return "null";
    case FieldType::kBool: return as_bool() ? "true" : "false";
    case FieldType::kInt64: return std::to_string(as_int64());
    case FieldType::kDouble: return fmt::format("{}", as_double());
    case FieldType::kString: {
      std::string s = "\"";
      s.append(as_string().substr(0, 64));
      if (size_ > 64) s += "...";
      return s + "\"";
    }
    case FieldType::kBytes: return fmt::format("bytes({})", size_);
    case FieldType::kTimestamp: return FormatTimestamp(as_timestamp());
  }
  return "?";
}

// ---- Schema ----

Result<std::shared_ptr<const Schema>> Schema::Create(std::vector<FieldSpec> fields,
                                                     std::string_view primary_key) {
  if (fields.empty()) return Status::InvalidArgument("schema: no fields");
  if (fields.size() > 0xffff) {
    return Status::InvalidArgument(fmt::format("schema: {} fields, at most 65535", fields.size()));
  }
  std::unordered_set<std::string_view> names;
  std::optional<size_t> pk;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldSpec& f = fields[i];
    if (f.name.empty()) return Status::InvalidArgument(fmt::format("schema: field {} has no name", i));
    if (!names.insert(f.name).second) {
      return Status::InvalidArgument(fmt::format("schema: field '{}' appears twice", f.name));
    }
    if (f.type == FieldType::kNull || static_cast<int>(f.type) > 6) {
      return Status::InvalidArgument(fmt::format("schema: field '{}' has no valid type", f.name));
    }
    if (f.name == primary_key) pk = i;
  }
  if (!pk) {
    return Status::InvalidArgument(
        fmt::format("schema: primary key '{}' is not one of the fields", primary_key));
  }
  if (fields[*pk].type == FieldType::kDouble) {
    return Status::InvalidArgument(
        fmt::format("schema: primary key '{}' cannot be a double", primary_key));
  }
  fields[*pk].nullable = false;  // a primary key is never null
  return std::shared_ptr<const Schema>(new Schema(std::move(fields), *pk));
}

std::optional<size_t> Schema::Find(std::string_view name) const noexcept {
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (fields_[i].name == name) return i;
  }
  return std::nullopt;
}

bool operator==(const Schema& a, const Schema& b) noexcept {
  if (a.pk_ != b.pk_ || a.fields_.size() != b.fields_.size()) return false;
  for (size_t i = 0; i < a.fields_.size(); ++i) {
    const FieldSpec& x = a.fields_[i];
    const FieldSpec& y = b.fields_[i];
    if (x.name != y.name || x.type != y.type || x.nullable != y.nullable) return false;
  }
  return true;
}

std::string Schema::ToString() const {
  std::string out;
  for (size_t i = 0; i < fields_.size(); ++i) {
    if (i) out += ", ";
    out += fields_[i].name;
    out += ':';
    out += FieldTypeName(fields_[i].type);
    if (i == pk_) out += " pk";
    else if (!fields_[i].nullable) out += " not null";
  }
  return out;
}

// ---- encoding ----

namespace record_format {

Status Check(const Schema& schema, std::span<const FieldValue> values) {
  for (size_t i = 0; i < schema.size(); ++i) {
    const FieldSpec& f = schema.field(i);
    const FieldValue& v = values[i];
    if (v.is_null()) {
      if (!f.nullable) {
        return Status::InvalidArgument(fmt::format("field '{}': null in a non-null field", f.name));
      }
      continue;
    }
    if (v.type() != f.type) {
      return Status::InvalidArgument(fmt::format("field '{}': expected {}, got {} {}", f.name,
                                                 FieldTypeName(f.type), FieldTypeName(v.type()),
                                                 v.ToString()));
    }
    if (v.type() == FieldType::kString && !ValidUtf8(v.as_string())) {
      return Status::InvalidArgument(fmt::format(
          "field '{}': not valid UTF-8 (binary data belongs in a bytes field)", f.name));
    }
  }
  return Status::OK();
}

bool ValidUtf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

size_t EncodedSize(const Schema& schema, std::span<const FieldValue> values) {
  size_t n = FixedBytes(schema.size());
  for (size_t i = 0; i < schema.size(); ++i) {
    if (!values[i].is_null() && HasPayload(values[i].type())) n += values[i].as_bytes().size();
  }
  return n;
}

void Encode(const Schema& schema, std::span<const FieldValue> values, char* out) {
  const size_t n = schema.size();
  const uint16_t count = static_cast<uint16_t>(n);
  std::memset(out, 0, FixedBytes(n));
  std::memcpy(out, &count, 2);
  size_t tail = FixedBytes(n);
  for (size_t i = 0; i < n; ++i) {
    const FieldValue& v = values[i];
    uint64_t slot = 0;
    if (v.is_null()) {
      out[2 + i / 8] = static_cast<char>(static_cast<uint8_t>(out[2 + i / 8]) | (1u << (i % 8)));
    } else if (HasPayload(v.type())) {
      const std::string_view p = v.as_bytes();
      if (!p.empty()) std::memcpy(out + tail, p.data(), p.size());
      slot = (uint64_t{static_cast<uint32_t>(p.size())} << 32) | static_cast<uint32_t>(tail);
      tail += p.size();
    } else if (v.type() == FieldType::kDouble) {
      slot = std::bit_cast<uint64_t>(v.as_double());
    } else {
      slot = static_cast<uint64_t>(v.as_int64());  // bool, int64 and timestamp share the slot
    }
    std::memcpy(out + SlotsOffset(n) + 8 * i, &slot, 8);
  }
}

Status Validate(const Schema& schema, std::string_view bytes) {
  const size_t n = schema.size();
  if (bytes.size() < FixedBytes(n)) {
    return Status::Corruption(fmt::format("record: {} bytes, shorter than the {} a record of {} "
                                          "fields needs",
                                          bytes.size(), FixedBytes(n), n));
  }
  uint16_t count;
  std::memcpy(&count, bytes.data(), 2);
  if (count != n) {
    return Status::Corruption(
        fmt::format("record: has {} fields, the schema has {}", count, n));
  }
  size_t expect_tail = FixedBytes(n);
  for (size_t i = 0; i < n; ++i) {
    const FieldSpec& f = schema.field(i);
    const uint64_t slot = LoadSlot(bytes.data(), n, i);
    if (IsNull(bytes.data(), i)) {
      if (!f.nullable) {
        return Status::Corruption(fmt::format("record: null in non-null field '{}'", f.name));
      }
      continue;
    }
    if (HasPayload(f.type)) {
      const uint32_t off = static_cast<uint32_t>(slot);
      const uint32_t len = static_cast<uint32_t>(slot >> 32);
      if (off != expect_tail || uint64_t{off} + len > bytes.size()) {
        return Status::Corruption(
            fmt::format("record: field '{}' payload at {}+{} is out of place", f.name, off, len));
      }
      if (f.type == FieldType::kString && !ValidUtf8(bytes.substr(off, len))) {
        return Status::Corruption(fmt::format("record: field '{}' is not valid UTF-8", f.name));
      }
      expect_tail += len;
    } else if (f.type == FieldType::kBool && slot > 1) {
      return Status::Corruption(fmt::format("record: field '{}' is not a bool", f.name));
    }
  }
  if (expect_tail != bytes.size()) {
    return Status::Corruption(fmt::format("record: {} trailing bytes", bytes.size() - expect_tail));
  }
  return Status::OK();
}

}  // namespace record_format

// ---- RecordView ----

FieldValue RecordView::Get(size_t i) const noexcept {
  const char* p = bytes_.data();
  if (record_format::IsNull(p, i)) return FieldValue::Null();
  const size_t n = schema_->size();
  const uint64_t slot = record_format::LoadSlot(p, n, i);
  switch (schema_->field(i).type) {
    case FieldType::kBool: return FieldValue::Bool(slot != 0);
    case FieldType::kInt64: return FieldValue::Int64(static_cast<int64_t>(slot));
    case FieldType::kDouble: return FieldValue::Double(std::bit_cast<double>(slot));
    case FieldType::kTimestamp: return FieldValue::Time({static_cast<int64_t>(slot)});
    case FieldType::kString:
      return FieldValue::String({p + static_cast<uint32_t>(slot), static_cast<size_t>(slot >> 32)});
    case FieldType::kBytes:
      return FieldValue::Bytes({p + static_cast<uint32_t>(slot), static_cast<size_t>(slot >> 32)});
    case FieldType::kNull: break;
  }
  return FieldValue::Null();
}

FieldValue RecordView::Get(std::string_view name) const noexcept {
  const std::optional<size_t> i = schema_->Find(name);
  return i ? Get(*i) : FieldValue::Null();
}

// ---- Record ----

Result<Record> Record::FromBytes(std::shared_ptr<const Schema> schema, std::string_view bytes) {
  Status s = record_format::Validate(*schema, bytes);
  if (!s.ok()) return s;
  return FromView(std::move(schema), RecordView(nullptr, bytes));
}

Record Record::FromView(std::shared_ptr<const Schema> schema, RecordView view) {
  Record r;
  const std::string_view bytes = view.bytes();
  auto data = std::make_shared<char[]>(bytes.size());  // one allocation, control block included
  if (!bytes.empty()) std::memcpy(data.get(), bytes.data(), bytes.size());
  r.schema_ = std::move(schema);
  r.data_ = std::move(data);
  r.size_ = bytes.size();
  return r;
}

Result<Record> Record::FromValues(std::shared_ptr<const Schema> schema,
                                  std::span<const FieldValue> values) {
  if (values.size() != schema->size()) {
    return Status::InvalidArgument(fmt::format("record: {} values for a schema of {} fields",
                                               values.size(), schema->size()));
  }
  Status s = record_format::Check(*schema, values);
  if (!s.ok()) return s;
  const size_t size = record_format::EncodedSize(*schema, values);
  auto data = std::make_shared<char[]>(size);
  record_format::Encode(*schema, values, data.get());
  Record r;
  r.schema_ = std::move(schema);
  r.data_ = std::move(data);
  r.size_ = size;
  return r;
}

// ---- RecordBuilder ----

RecordBuilder::RecordBuilder(std::shared_ptr<const Schema> schema)
    : schema_(std::move(schema)), values_(schema_->size()), owned_(schema_->size()) {}

RecordBuilder& RecordBuilder::Set(size_t i, const FieldValue& v) {
  if (i >= values_.size()) {
    if (error_.empty()) error_ = fmt::format("field index {} is out of range", i);
    return *this;
  }
  if (!v.is_null() && record_format::HasPayload(v.type())) {
    owned_[i].assign(v.as_bytes());  // owned_ never resizes: views into it stay valid
    values_[i] = v.type() == FieldType::kString ? FieldValue::String(owned_[i])
                                                : FieldValue::Bytes(owned_[i]);
  } else {
    values_[i] = v;
  }
  return *this;
}

RecordBuilder& RecordBuilder::Set(std::string_view name, const FieldValue& v) {
  const std::optional<size_t> i = schema_->Find(name);
  if (!i) {
    if (error_.empty()) error_ = fmt::format("field '{}' is not in the schema", name);
    return *this;
  }
  return Set(*i, v);
}

Result<Record> RecordBuilder::Build() const {
  if (!error_.empty()) return Status::InvalidArgument(error_);
  return Record::FromValues(schema_, values_);
}

void RecordBuilder::Reset() {
  std::fill(values_.begin(), values_.end(), FieldValue::Null());
  error_.clear();
}

}  // namespace larder
