// cachectl's commands: each takes a snapshot directory and its arguments, writes to an Output
// and returns an exit code (output.h). The CLI (cachectl_main.cc) only parses and dispatches,
// so everything here is testable in-process.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <optional>
#include <string>

#include "tools/output.h"

namespace larder::tools {

// Which entries `dump` shows.
struct DumpFilter {
  std::string prefix{};   // the displayed key starts with it
  std::string pattern{};  // the displayed key matches this glob (fnmatch)
  std::string tag{};      // the entry carries this tag
  size_t limit = 100;   // 0 = no limit
};

int List(Output& o, const std::string& dir);
int Info(Output& o, const std::string& dir, std::optional<uint64_t> id);
int Stats(Output& o, const std::string& dir, std::optional<uint64_t> id);
int Dump(Output& o, const std::string& dir, std::optional<uint64_t> id, const DumpFilter& filter);
// `key` as displayed by dump: the primary key's value for record snapshots.
int Get(Output& o, const std::string& dir, uint64_t id, const std::string& key);
// Every snapshot, or only `id`.
int Verify(Output& o, const std::string& dir, std::optional<uint64_t> id);
int Export(Output& o, const std::string& dir, std::optional<uint64_t> id, const std::string& file,
           bool meta);
// Creates a new snapshot from a JSON file. Record snapshots take their schema, indexes and name
// from snapshot `like` (the newest when unset and the directory has one); without any, the
// file holds key-value entries ({"key": ..., "value": ...}).
int Import(Output& o, const std::string& dir, const std::string& file, bool meta,
           std::optional<uint64_t> like, const std::string& name);
int Diff(Output& o, const std::string& dir, uint64_t a, uint64_t b, size_t limit);
int Prune(Output& o, const std::string& dir, size_t keep);

}  // namespace larder::tools
