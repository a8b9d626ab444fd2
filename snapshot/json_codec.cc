// JSON writing for record fields, and base64.
#include "snapshot/json_codec.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

namespace larder::json {
namespace {

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

void AppendString(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out->append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      default: out->append(fmt::format("\\u{:04x}", c)); break;
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

void AppendBase64(std::string* out, std::string_view bytes) {
  out->push_back('"');
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8) |
                       static_cast<uint8_t>(bytes[i + 2]);
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(kBase64[(v >> 6) & 63]);
    out->push_back(kBase64[v & 63]);
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t{static_cast<uint8_t>(bytes[i])} << 16;
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->append("==");
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t{static_cast<uint8_t>(bytes[i])} << 16) |
                       (uint32_t{static_cast<uint8_t>(bytes[i + 1])} << 8);
    out->push_back(kBase64[v >> 18]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(kBase64[(v >> 6) & 63]);
    out->push_back('=');
  }
  out->push_back('"');
}

Status DecodeBase64(std::string_view text, std::string* out) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1) return Status::InvalidArgument("not base64: bad length");
  out->clear();
  out->reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = Base64Value(c);
    if (v < 0) return Status::InvalidArgument(fmt::format("not base64: character '{}'", c));
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return Status::OK();
}

void AppendValue(std::string* out, const FieldValue& v) {
  char buf[32];
  switch (v.type()) {
    case FieldType::kNull: out->append("null"); return;
    case FieldType::kBool: out->append(v.as_bool() ? "true" : "false"); return;
    case FieldType::kInt64: {
      const auto r = std::to_chars(buf, buf + sizeof buf, v.as_int64());
      out->append(buf, r.ptr);
      return;
    }
    case FieldType::kDouble: {
      const double d = v.as_double();
      if (std::isnan(d)) {
        out->append("\"NaN\"");
      } else if (std::isinf(d)) {
        out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
      } else {
        const auto r = std::to_chars(buf, buf + sizeof buf, d);  // shortest round-trip form
        out->append(buf, r.ptr);
      }
      return;
    }
    case FieldType::kString: AppendString(out, v.as_string()); return;
    case FieldType::kBytes: AppendBase64(out, v.as_bytes()); return;
    case FieldType::kTimestamp:
      out->push_back('"');
      AppendTimestamp(out, v.as_timestamp());
      out->push_back('"');
      return;
  }
}

}  // namespace larder::json
