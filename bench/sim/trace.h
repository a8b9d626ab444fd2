// Trace: streaming readers for the request traces the simulator replays.
//
// Formats (see ../shared/traces/README.md): LIRS text (one decimal key per line, "*" lines
// skipped), ARC text ("start count ignored request_no", expanded into count keys), cache2k
// (big-endian int32 keys), int64 (big-endian int64 keys), AdaptSize text ("time id size": the
// (id, size) pair is the key, its size the weight). Compressed files (.gz, .xz, .zst) are read
// through the matching decompressor's pipe, so a trace is never held in memory whole.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::sim {

enum class TraceFormat { kLirs, kArc, kCache2k, kInt64, kAdaptSize };

// "lirs", "arc", "cache2k", "int64", "adaptsize".
Result<TraceFormat> ParseTraceFormat(std::string_view name);
std::string_view FormatName(TraceFormat format);

struct Request {
  uint64_t key;
  uint64_t weight;  // 1 except for AdaptSize
};

class TraceReader {
 public:
  // Opens `path` (decompressing by extension). NotFound / InvalidArgument name the file.
  static Result<std::unique_ptr<TraceReader>> Open(const std::string& path, TraceFormat format);
  // Reads an already open, uncompressed stream (owned: closed by the reader); `name` appears in
  // errors.
  static std::unique_ptr<TraceReader> FromStream(FILE* file, std::string name, TraceFormat format);
  // ARC lines expanding into more requests than this are refused.
  static constexpr uint64_t kMaxArcCount = uint64_t{1} << 24;
  ~TraceReader();
  TraceReader(const TraceReader&) = delete;
  TraceReader& operator=(const TraceReader&) = delete;

  // Replaces *out with up to `max` next requests; false at the end of the trace or on an error
  // (then status() says which).
  bool Next(std::vector<Request>* out, size_t max);
  // OK, or what went wrong: a malformed line (file and line number), a failed decompressor.
  const Status& status() const { return status_; }

 private:
  TraceReader(std::string path, TraceFormat format, FILE* file, bool piped)
      : path_(std::move(path)), format_(format), file_(file), piped_(piped) {}
  bool ReadText(std::vector<Request>* out, size_t max);
  bool ReadBinary(std::vector<Request>* out, size_t max, size_t width);
  bool Fail(std::string message);
  void Close();

  std::string path_;
  TraceFormat format_;
  FILE* file_;
  bool piped_;
  uint64_t line_ = 0;
  char* buffer_ = nullptr;
  size_t buffer_size_ = 0;
  // An ARC line not yet fully expanded.
  uint64_t arc_next_ = 0;
  uint64_t arc_left_ = 0;
  Status status_;
};

}  // namespace larder::sim
