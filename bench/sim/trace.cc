// Trace readers: decompressor pipes and the five line/record formats.
#include "trace.h"

#include <sys/wait.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <xxhash.h>

namespace larder::sim {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string ShellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Splits `line` into whitespace-separated unsigned integers; false on anything else.
bool ParseNumbers(std::string_view line, uint64_t* values, size_t want, size_t* got) {
  *got = 0;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    if (i == line.size()) break;
    if (*got == want) return false;
    uint64_t v = 0;
    const auto [end, ec] = std::from_chars(line.data() + i, line.data() + line.size(), v);
    if (ec != std::errc() || end == line.data() + i) return false;
    values[(*got)++] = v;
    i = static_cast<size_t>(end - line.data());
    if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return false;
  }
  return true;
}

}  // namespace

Result<TraceFormat> ParseTraceFormat(std::string_view name) {
  if (name == "lirs") return TraceFormat::kLirs;
  if (name == "arc") return TraceFormat::kArc;
  if (name == "cache2k") return TraceFormat::kCache2k;
  if (name == "int64") return TraceFormat::kInt64;
  if (name == "adaptsize") return TraceFormat::kAdaptSize;
  return Status::InvalidArgument(fmt::format(
      "format: '{}' is not one of lirs, arc, cache2k, int64, adaptsize", name));
}

std::string_view FormatName(TraceFormat format) {
  switch (format) {
    case TraceFormat::kLirs: return "lirs";
    case TraceFormat::kArc: return "arc";
    case TraceFormat::kCache2k: return "cache2k";
    case TraceFormat::kInt64: return "int64";
    case TraceFormat::kAdaptSize: return "adaptsize";
  }
  return "?";
}

Result<std::unique_ptr<TraceReader>> TraceReader::Open(const std::string& path,
                                                       TraceFormat format) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(fmt::format("trace {}: no such file", path));
  }
  std::string tool;
  if (EndsWith(path, ".gz")) tool = "gzip -dc -- ";
  if (EndsWith(path, ".xz")) tool = "xz -dc -- ";
  if (EndsWith(path, ".zst")) tool = "zstd -qdc -- ";
  FILE* f = nullptr;
  if (tool.empty()) {
    f = std::fopen(path.c_str(), "rb");
  } else {
    f = popen((tool + ShellQuote(path)).c_str(), "r");
  }
  if (f == nullptr) {
    return Status::IOError(fmt::format("trace {}: cannot open: {}", path, std::strerror(errno)));
  }
  return std::unique_ptr<TraceReader>(new TraceReader(path, format, f, !tool.empty()));
}

std::unique_ptr<TraceReader> TraceReader::FromStream(FILE* file, std::string name,
                                                     TraceFormat format) {
  return std::unique_ptr<TraceReader>(new TraceReader(std::move(name), format, file, false));
}

TraceReader::~TraceReader() {
  Close();
  std::free(buffer_);
}

void TraceReader::Close() {
  if (file_ == nullptr) return;
  if (piped_) {
    const int rc = pclose(file_);
    if (status_.ok() && (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) != 0)) {
      status_ = Status::IOError(
          fmt::format("trace {}: the decompressor failed (is the file intact?)", path_));
    }
  } else {
    std::fclose(file_);
  }
  file_ = nullptr;
}

bool TraceReader::Fail(std::string message) {
  if (status_.ok()) status_ = Status::InvalidArgument(std::move(message));
  Close();
  return false;
}

bool TraceReader::Next(std::vector<Request>* out, size_t max) {
  out->clear();
  if (file_ == nullptr) return false;
  switch (format_) {
    case TraceFormat::kLirs:
    case TraceFormat::kArc:
    case TraceFormat::kAdaptSize:
      return ReadText(out, max);
    case TraceFormat::kCache2k:
      return ReadBinary(out, max, 4);
    case TraceFormat::kInt64:
      return ReadBinary(out, max, 8);
  }
  return false;
}

bool TraceReader::ReadText(std::vector<Request>* out, size_t max) {
  while (out->size() < max) {
    if (arc_left_ > 0) {
      out->push_back({arc_next_++, 1});
      --arc_left_;
      continue;
    }
    const ssize_t n = getline(&buffer_, &buffer_size_, file_);
    if (n < 0) {
      if (std::ferror(file_)) return Fail(fmt::format("trace {}: read error", path_));
      Close();
      if (!status_.ok()) return false;
      return !out->empty();
    }
    ++line_;
    std::string_view line(buffer_, static_cast<size_t>(n));
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    uint64_t v[4];
    size_t got = 0;
    switch (format_) {
      case TraceFormat::kLirs:
        if (line == "*" || line.empty()) continue;
        if (!ParseNumbers(line, v, 1, &got) || got != 1) {
          return Fail(fmt::format("trace {}:{}: expected one decimal key, got '{}'", path_, line_,
                                  line.substr(0, 60)));
        }
        out->push_back({v[0], 1});
        break;
      case TraceFormat::kArc:
        if (line.empty()) continue;
        if (!ParseNumbers(line, v, 4, &got) || got != 4) {
          return Fail(fmt::format("trace {}:{}: expected 'start count ignored request_no', got '{}'",
                                  path_, line_, line.substr(0, 60)));
        }
        if (v[1] > kMaxArcCount) {
          return Fail(fmt::format("trace {}:{}: count {} exceeds {} requests per line", path_,
                                  line_, v[1], kMaxArcCount));
        }
        arc_next_ = v[0];
        arc_left_ = v[1];
        break;
      case TraceFormat::kAdaptSize: {
        if (line.empty()) continue;
        if (!ParseNumbers(line, v, 3, &got) || got != 3) {
          return Fail(fmt::format("trace {}:{}: expected 'timestamp object_id size_bytes', got '{}'",
                                  path_, line_, line.substr(0, 60)));
        }
        const uint64_t pair[2] = {v[1], v[2]};
        out->push_back({XXH3_64bits(pair, sizeof pair), v[2] == 0 ? 1 : v[2]});
        break;
      }
      default:
        break;
    }
  }
  return true;
}

bool TraceReader::ReadBinary(std::vector<Request>* out, size_t max, size_t width) {
  unsigned char raw[8 * 4096];
  const size_t want = std::min<size_t>(max, sizeof raw / width);
  const size_t got = std::fread(raw, 1, want * width, file_);
  if (got % width != 0) {
    return Fail(fmt::format("trace {}: ends inside a {}-byte key ({} stray bytes)", path_, width,
                            got % width));
  }
  for (size_t i = 0; i < got; i += width) {
    uint64_t k = 0;
    for (size_t b = 0; b < width; ++b) k = (k << 8) | raw[i + b];
    if (width == 4) k = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(k)));
    out->push_back({k, 1});
  }
  if (got < want * width) {
    if (std::ferror(file_)) return Fail(fmt::format("trace {}: read error", path_));
    Close();
    if (!status_.ok()) return false;
  }
  return !out->empty();
}

}  // namespace larder::sim
