// Backplane message encoding and decoding.
#include "backplane_message.h"

#include <charconv>

#include <fmt/format.h>

#include "index/key_codec.h"

namespace larder::coord {
namespace {

constexpr std::string_view kMagic = "lb1 ";
constexpr size_t kMaxPublisher = 64;

// Splits off the text before the next space; nullopt when there is none.
std::optional<std::string_view> Field(std::string_view* rest) {
  const size_t space = rest->find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  std::string_view field = rest->substr(0, space);
  rest->remove_prefix(space + 1);
  return field;
}

}  // namespace

std::string EncodeBackplaneMessage(std::string_view publisher, uint64_t sequence,
                                   BackplaneKind kind, std::string_view payload) {
  return fmt::format("{}{} {} {} {}", kMagic, publisher, sequence, static_cast<char>(kind),
                     payload);
}

std::optional<BackplaneMessage> DecodeBackplaneMessage(std::string_view text) {
  if (!text.starts_with(kMagic)) return std::nullopt;
  std::string_view rest = text.substr(kMagic.size());
  BackplaneMessage m;
  const std::optional<std::string_view> publisher = Field(&rest);
  if (!publisher || publisher->empty() || publisher->size() > kMaxPublisher) return std::nullopt;
  m.publisher = *publisher;
  const std::optional<std::string_view> sequence = Field(&rest);
  // Canonical decimal only (no leading zero), so a message has one spelling.
  if (!sequence || sequence->empty() || sequence->size() > 20 || (*sequence)[0] == '0') {
    return std::nullopt;
  }
  const auto [end, ec] = std::from_chars(sequence->data(), sequence->data() + sequence->size(),
                                         m.sequence);
  if (ec != std::errc() || end != sequence->data() + sequence->size() || m.sequence == 0) {
    return std::nullopt;
  }
  const std::optional<std::string_view> kind = Field(&rest);
  if (!kind || kind->size() != 1) return std::nullopt;
  switch ((*kind)[0]) {
    case 'k': m.kind = BackplaneKind::kKey; break;
    case 'p': m.kind = BackplaneKind::kPattern; break;
    case 't': m.kind = BackplaneKind::kTag; break;
    case 'c': m.kind = BackplaneKind::kClear; break;
    case 'f': m.kind = BackplaneKind::kField; break;
    default: return std::nullopt;
  }
  if (m.kind == BackplaneKind::kClear && !rest.empty()) return std::nullopt;
  if (m.kind == BackplaneKind::kField && !DecodeFieldPayload(rest)) return std::nullopt;
  m.payload = rest;
  return m;
}

std::string EncodeFieldPayload(std::string_view field, const FieldValue& value) {
  std::string out = fmt::format("{}:{}", field.size(), field);
  index::AppendKey(&out, value);
  return out;
}

std::optional<FieldPayload> DecodeFieldPayload(std::string_view payload) {
  const size_t colon = payload.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 3 || payload[0] == '0') {
    return std::nullopt;
  }
  size_t length = 0;
  const auto [end, ec] = std::from_chars(payload.data(), payload.data() + colon, length);
  if (ec != std::errc() || end != payload.data() + colon || length > 255) return std::nullopt;
  payload.remove_prefix(colon + 1);
  if (payload.size() < length) return std::nullopt;
  const std::optional<FieldValue> value = index::DecodeKey(payload.substr(length));
  if (!value) return std::nullopt;
  return FieldPayload{payload.substr(0, length), *value};
}

}  // namespace larder::coord
