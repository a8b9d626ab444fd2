// Records to JSON objects and back; arrays of records in the seed's shapes.
#include "snapshot/record_json.h"

#include <charconv>
#include <deque>
#include <string>

#include <fmt/format.h>
#include <simdjson.h>

#include "base/record_format.h"
#include "snapshot/json_codec.h"

namespace larder {

void RecordView::AppendJson(std::string* out) const {
  out->push_back('{');
  for (size_t i = 0; i < schema_->size(); ++i) {
    if (i) out->push_back(',');
    json::AppendString(out, schema_->field(i).name);
    out->push_back(':');
    json::AppendValue(out, Get(i));
  }
  out->push_back('}');
}

std::string RecordView::ToJson() const {
  std::string out;
  out.reserve(bytes_.size() * 2 + 16);
  AppendJson(&out);
  return out;
}

namespace json {
namespace {

namespace od = simdjson::ondemand;

// Reads JSON objects into field values, reusing its buffers across records.
class ObjectReader {
 public:
  explicit ObjectReader(const Schema& schema) : schema_(schema), values_(schema.size()) {}

  // Fills values_ from `obj`; string payloads point into the parser or into scratch_.
  Status Read(od::object obj) {
    std::fill(values_.begin(), values_.end(), FieldValue::Null());
    scratch_.clear();
    for (auto member : obj) {
      std::string_view key;
      if (member.unescaped_key().get(key)) return Status::InvalidArgument("malformed member name");
      const std::optional<size_t> i = schema_.Find(key);
      od::value value;
      if (member.value().get(value)) return Status::InvalidArgument("malformed value");
      if (!i) continue;  // not in the schema: ignored
      Status s = ReadValue(schema_.field(*i), value, &values_[*i]);
      if (!s.ok()) return s;
    }
    return record_format::Check(schema_, values_);
  }

  Result<Record> Build(const std::shared_ptr<const Schema>& schema_ptr) const {
    const size_t size = record_format::EncodedSize(schema_, values_);
    std::string buf(size, '\0');
    record_format::Encode(schema_, values_, buf.data());
    return Record::FromView(schema_ptr, RecordView(&schema_, buf));
  }

 private:
  static Status Expected(const FieldSpec& f, std::string_view what) {
    return Status::InvalidArgument(
        fmt::format("field '{}': expected {} ({})", f.name, FieldTypeName(f.type), what));
  }

  Status ReadValue(const FieldSpec& f, od::value& v, FieldValue* out) {
    bool is_null = false;
    if (!v.is_null().get(is_null) && is_null) {
      *out = FieldValue::Null();
      return Status::OK();
    }
    od::json_type type;
    if (v.type().get(type)) return Expected(f, "malformed value");
    switch (f.type) {
      case FieldType::kBool: {
        bool b;
        if (type != od::json_type::boolean || v.get_bool().get(b)) return Expected(f, "true/false");
        *out = FieldValue::Bool(b);
        return Status::OK();
      }
      case FieldType::kInt64: {
        int64_t n;
        if (type == od::json_type::number) {
          if (v.get_int64().get(n)) return Expected(f, "an integer that fits 64 bits");
        } else if (type == od::json_type::string) {
          std::string_view s;
          if (v.get_string().get(s)) return Expected(f, "malformed string");
          const auto r = std::from_chars(s.data(), s.data() + s.size(), n);
          if (r.ec != std::errc() || r.ptr != s.data() + s.size()) {
            return Expected(f, "a decimal integer string");
          }
        } else {
          return Expected(f, "a number");
        }
        *out = FieldValue::Int64(n);
        return Status::OK();
      }
      case FieldType::kDouble: {
        double d;
        if (type == od::json_type::number) {
          if (v.get_double().get(d)) return Expected(f, "a number");
        } else if (type == od::json_type::string) {
          std::string_view s;
          if (v.get_string().get(s)) return Expected(f, "malformed string");
          if (s == "NaN") d = std::numeric_limits<double>::quiet_NaN();
          else if (s == "Infinity") d = std::numeric_limits<double>::infinity();
          else if (s == "-Infinity") d = -std::numeric_limits<double>::infinity();
          else return Expected(f, "a number");
        } else {
          return Expected(f, "a number");
        }
        *out = FieldValue::Double(d);
        return Status::OK();
      }
      case FieldType::kString: {
        std::string_view s;
        if (type != od::json_type::string || v.get_string().get(s)) return Expected(f, "a string");
        *out = FieldValue::String(s);
        return Status::OK();
      }
      case FieldType::kBytes: {
        std::string_view s;
        if (type != od::json_type::string || v.get_string().get(s)) {
          return Expected(f, "a base64 string");
        }
        std::string& decoded = scratch_.emplace_back();
        Status st = DecodeBase64(s, &decoded);
        if (!st.ok()) return Expected(f, st.message());
        *out = FieldValue::Bytes(decoded);
        return Status::OK();
      }
      case FieldType::kTimestamp: {
        if (type == od::json_type::number) {
          int64_t ms, micros;
          if (v.get_int64().get(ms)) return Expected(f, "epoch milliseconds as an integer");
          if (__builtin_mul_overflow(ms, 1000, &micros)) {
            return Expected(f, "epoch milliseconds within about 292,000 years of 1970");
          }
          *out = FieldValue::Time({micros});
          return Status::OK();
        }
        std::string_view s;
        if (type != od::json_type::string || v.get_string().get(s)) {
          return Expected(f, "an ISO 8601 string or epoch milliseconds");
        }
        Result<Timestamp> t = ParseTimestamp(s);
        if (!t.ok()) return Expected(f, t.status().message());
        *out = FieldValue::Time(*t);
        return Status::OK();
      }
      case FieldType::kNull: break;
    }
    return Expected(f, "a supported type");
  }

  const Schema& schema_;
  std::vector<FieldValue> values_;
  std::deque<std::string> scratch_;  // deque: growing it never moves earlier strings
};

Status ElementError(size_t index, std::string_view message) {
  return Status::InvalidArgument(fmt::format("element {}: {}", index, message));
}

}  // namespace

Result<std::vector<ParsedRecord>> ParseRecordArray(const std::shared_ptr<const Schema>& schema,
                                                   std::string_view text, bool has_meta) {
  simdjson::padded_string padded(text);
  od::parser parser;
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc)) {
    return Status::InvalidArgument(fmt::format("not JSON: {}", simdjson::error_message(err)));
  }
  od::array array;
  if (doc.get_array().get(array)) return Status::InvalidArgument("expected a JSON array");
  ObjectReader reader(*schema);
  std::vector<ParsedRecord> out;
  size_t index = 0;
  for (auto element : array) {
    od::value value;
    if (auto err = element.get(value)) return ElementError(index, simdjson::error_message(err));
    od::object obj;
    if (value.get_object().get(obj)) return ElementError(index, "expected an object");
    ParsedRecord parsed;
    Status s;
    if (!has_meta) {
      s = reader.Read(obj);
    } else {
      bool saw_data = false;
      for (auto member : obj) {
        std::string_view key;
        if (member.unescaped_key().get(key)) return ElementError(index, "malformed member name");
        if (key == "data") {
          od::object data;
          if (member.value().get_object().get(data)) {
            return ElementError(index, "\"data\" must be an object");
          }
          s = reader.Read(data);
          if (!s.ok()) break;
          saw_data = true;
        } else if (key == "expiresAt") {
          od::value e;
          if (member.value().get(e)) return ElementError(index, "malformed \"expiresAt\"");
          bool is_null = false;
          if (!e.is_null().get(is_null) && is_null) continue;
          int64_t ms;
          if (e.get_int64().get(ms)) {
            return ElementError(index, "\"expiresAt\" must be epoch milliseconds or null");
          }
          parsed.expires_at_ms = ms;
        }
      }
      if (s.ok() && !saw_data) s = Status::InvalidArgument("missing \"data\"");
    }
    if (!s.ok()) return ElementError(index, s.message());
    Result<Record> r = reader.Build(schema);
    if (!r.ok()) return ElementError(index, r.status().message());
    parsed.record = std::move(*r);
    out.push_back(std::move(parsed));
    ++index;
  }
  return out;
}

}  // namespace json

Result<Record> Record::FromJson(std::shared_ptr<const Schema> schema, std::string_view text) {
  // Parsed as a one-element array so that anything after the object is rejected too.
  std::string wrapped;
  wrapped.reserve(text.size() + 2);
  wrapped.push_back('[');
  wrapped.append(text);
  wrapped.push_back(']');
  Result<std::vector<json::ParsedRecord>> parsed =
      json::ParseRecordArray(schema, wrapped, /*has_meta=*/false);
  if (!parsed.ok()) {
    std::string_view message = parsed.status().message();
    if (message.rfind("element 0: ", 0) == 0) message.remove_prefix(11);
    return Status::InvalidArgument(message);
  }
  if (parsed->size() != 1) return Status::InvalidArgument("expected exactly one JSON object");
  return std::move((*parsed)[0].record);
}

}  // namespace larder
