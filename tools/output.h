// How cachectl talks: exit codes, aligned tables, JSON text, and a progress bar for long
// operations on a terminal.
#pragma once

#include "base/private.h"

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "larder/status.h"

namespace larder::tools {

// cachectl's exit codes (documented in docs/cachectl.md and `cachectl --help`).
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,         // an operation failed: I/O, the directory is in use, ...
  kExitUsage = 2,         // bad arguments
  kExitNotFound = 3,      // no such snapshot, key or directory
  kExitCorrupt = 4,       // stored data failed a check (verify, or any read)
  kExitInvalid = 5,       // not a snapshot directory, a newer format, bad input file
  kExitDifferent = 6,     // diff: the snapshots differ
};

// The exit code for a failed status.
int ExitCodeFor(const Status& s);

struct Output {
  std::ostream& out;
  std::ostream& err;
  bool json = false;      // machine-readable output
  bool progress = false;  // stdout is a terminal: show progress on long operations
  std::chrono::milliseconds progress_after{1000};  // ... that have run this long
  int64_t now_ms = 0;     // wall clock, for "expired" and TTLs
};

// Prints `s` to err as "cachectl: <message>" and returns its exit code.
int Fail(Output& o, const Status& s);

// An aligned text table: a header row, then rows; numbers right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// A one-line progress bar on err, shown only when enabled and once the operation has run for
// Output::progress_after; cleared when done.
class Progress {
 public:
  Progress(Output& o, std::string label, uint64_t total);
  ~Progress();
  void Update(uint64_t done);

 private:
  Output& o_;
  std::string label_;
  uint64_t total_;
  std::chrono::steady_clock::time_point start_;
  bool shown_ = false;
};

// ISO 8601 UTC ("2026-11-21T10:00:00.000Z") for wall-clock epoch ms.
std::string IsoTime(int64_t ms);
// "1.5 KiB", "12.0 MiB".
std::string HumanBytes(uint64_t bytes);
// "45s", "3m20s", "2h05m", "3d04h"; negative durations as "expired".
std::string HumanDuration(int64_t ms);
// Appends `bytes` to a JSON object under `name`, or under `name`_base64 when not UTF-8.
// `out` is an nlohmann::ordered_json passed as void* to keep the header light.
void PutBytes(void* json_object, const std::string& name, std::string_view bytes);

}  // namespace larder::tools
