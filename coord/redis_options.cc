// RedisOptions from a redis:// URL or from the REDIS_* environment variables.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "larder/redis.h"

namespace larder {
namespace {

constexpr std::string_view kScheme = "redis://";

Result<uint16_t> ParsePort(std::string_view text) {
  uint32_t port = 0;
  bool digits = !text.empty() && text.size() <= 5;
  for (char c : text) {
    digits = digits && c >= '0' && c <= '9';
    if (digits) port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (!digits || port == 0 || port > 65535) {
    return Status::InvalidArgument(
        fmt::format("must be a number from 1 to 65535, got \"{}\"", text));
  }
  return static_cast<uint16_t>(port);
}

Result<uint32_t> ParseDb(std::string_view text) {
  uint64_t db = 0;
  bool digits = !text.empty() && text.size() <= 9;
  for (char c : text) {
    digits = digits && c >= '0' && c <= '9';
    if (digits) db = db * 10 + static_cast<uint64_t>(c - '0');
  }
  if (!digits) {
    return Status::InvalidArgument(fmt::format("db: must be a number, got \"{}\"", text));
  }
  return static_cast<uint32_t>(db);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a user name or password. The message never quotes it.
Result<std::string> Decode(std::string_view text, std::string_view what) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int hi = i + 2 < text.size() ? HexDigit(text[i + 1]) : -1;
    const int lo = i + 2 < text.size() ? HexDigit(text[i + 2]) : -1;
    if (hi < 0 || lo < 0) {
      return Status::InvalidArgument(
          fmt::format("{}: '%' must be followed by two hex digits", what));
    }
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// Splits "host[:port]" or "[v6]:port".
Status ParseHostPort(std::string_view text, RedisOptions* o) {
  std::string_view host = text;
  std::string_view port;
  bool has_port = false;
  if (text.starts_with('[')) {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("host: '[' without ']' around an IPv6 address");
    }
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) {
      return Status::InvalidArgument("host: only ':port' may follow ']'");
    }
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
  } else if (const size_t colon = text.find(':'); colon != std::string_view::npos) {
    if (text.find(':', colon + 1) != std::string_view::npos) {
      return Status::InvalidArgument("host: an IPv6 address must be in brackets ([::1])");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  if (!host.empty()) o->host = std::string(host);
  if (has_port) {
    Result<uint16_t> p = ParsePort(port);
    if (!p.ok()) return p.status().WithContext("port");
    o->port = *p;
  }
  return Status::OK();
}

}  // namespace

Result<RedisOptions> ParseRedisUrl(std::string_view url) {
  if (!url.starts_with(kScheme)) {
    const size_t end = url.find("://");
    if (end == std::string_view::npos) {
      return Status::InvalidArgument("must start with redis://");
    }
    const std::string_view scheme = url.substr(0, end);
    if (scheme == "rediss") {
      return Status::InvalidArgument("scheme: TLS (rediss://) is not supported, use redis://");
    }
    return Status::InvalidArgument(fmt::format("scheme: must be redis://, got \"{}://\"", scheme));
  }
  std::string_view rest = url.substr(kScheme.size());
  RedisOptions o;
  // Neither host, port nor db holds '@', so the last one ends the user info, and a password
  // may hold '@', ':', '/', '?' or '#' as they are; only '%' must be written %25.
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view info = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = info.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(
          "credentials: a user needs a password (write redis://:PASSWORD@host for a password "
          "alone)");
    }
    Result<std::string> user = Decode(info.substr(0, colon), "user");
    if (!user.ok()) return user.status();
    Result<std::string> password = Decode(info.substr(colon + 1), "password");
    if (!password.ok()) return password.status();
    o.username = *std::move(user);
    o.password = *std::move(password);
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return Status::InvalidArgument("query parameters and fragments are not supported");
  }
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && slash + 1 < rest.size()) {
    Result<uint32_t> db = ParseDb(rest.substr(slash + 1));
    if (!db.ok()) return db.status();
    o.db = *db;
  }
  Status s = ParseHostPort(authority, &o);
  if (!s.ok()) return s;
  return o;
}

Result<RedisOptions> RedisOptionsFromEnvironment() {
  auto get = [](const char* name) -> std::string_view {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
  };
  if (const std::string_view url = get("REDIS_URL"); !url.empty()) {
    Result<RedisOptions> o = ParseRedisUrl(url);
    if (!o.ok()) return o.status().WithContext("REDIS_URL");
    return o;
  }
  RedisOptions o;
  if (const std::string_view host = get("REDIS_HOST"); !host.empty()) o.host = std::string(host);
  if (const std::string_view port = get("REDIS_PORT"); !port.empty()) {
    Result<uint16_t> p = ParsePort(port);
    if (!p.ok()) return p.status().WithContext("REDIS_PORT");
    o.port = *p;
  }
  o.password = std::string(get("REDIS_PASSWORD"));
  return o;
}

}  // namespace larder
