// cachectl: inspect and manage larder snapshot directories without a running cache.
// Parsing only; the commands live in tools/commands.h.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <iostream>
#include <optional>

#include "tools/commands.h"

namespace {

constexpr const char* kExitCodes = R"(Exit codes:
  0  success (diff: the snapshots are identical)
  1  the operation failed (I/O error, directory in use by a writer, ...)
  2  bad arguments
  3  not found: no such directory, snapshot or key
  4  corruption: stored data failed a check (verify names the snapshot and batch)
  5  invalid: not a snapshot directory, a newer format, a bad import file
  6  diff: the snapshots differ)";

std::optional<uint64_t> OptionalId(const std::optional<uint64_t>& id) { return id; }

}  // namespace

int main(int argc, char** argv) {
  using namespace larder::tools;
  CLI::App app{"cachectl: inspect and manage larder snapshot directories"};
  app.footer(kExitCodes);
  app.require_subcommand(1);
  app.fallthrough();
  std::string dir;
  bool json = false;
  app.add_option("-d,--dir", dir, "snapshot directory")->envname("LARDER_SNAPSHOT_DIR")->required();
  app.add_flag("--json", json, "machine-readable JSON output");

  std::optional<uint64_t> id, id2;
  uint64_t req_id = 0, req_id2 = 0;
  std::string key, file, name;
  bool meta = false;
  size_t limit = 100, keep = 0;
  DumpFilter filter;
  std::optional<uint64_t> like;

  auto* list = app.add_subcommand("list", "list the snapshots, oldest first");
  auto* info = app.add_subcommand("info", "a snapshot's manifest (default: the newest)");
  info->add_option("ID", id, "snapshot id");
  auto* stats = app.add_subcommand("stats", "entry counts, bytes, TTL histogram, top key prefixes and tags");
  stats->add_option("ID", id, "snapshot id");
  auto* dump = app.add_subcommand("dump", "print entries");
  dump->add_option("ID", id, "snapshot id");
  auto* filters = dump->add_option_group("filter", "at most one filter");
  filters->add_option("--prefix", filter.prefix, "keys starting with this");
  filters->add_option("--pattern", filter.pattern, "keys matching this glob");
  filters->add_option("--tag", filter.tag, "entries carrying this tag");
  filters->require_option(0, 1);
  dump->add_option("--limit", filter.limit, "at most this many entries; 0 = all")->default_val(100);
  auto* get = app.add_subcommand("get", "one entry by key (the primary key for record snapshots)");
  get->add_option("ID", req_id, "snapshot id")->required();
  get->add_option("KEY", key, "key")->required();
  auto* verify = app.add_subcommand("verify", "check every checksum and record; exit 4 on corruption");
  verify->add_option("ID", id, "snapshot id (default: all)");
  auto* exp = app.add_subcommand("export", "write a snapshot as JSON (the record cache's shapes)");
  exp->add_option("ID", id, "snapshot id");
  exp->add_option("--json-file,--out", file, "output file")->required();
  exp->add_flag("--meta", meta, "wrap each entry as {\"data\": ..., \"expiresAt\": ms|null}");
  auto* imp = app.add_subcommand("import", "create a snapshot from a JSON file");
  imp->add_option("--json-file,--in", file, "input file")->required();
  imp->add_flag("--meta", meta, "entries are {\"data\": ..., \"expiresAt\": ms|null}");
  imp->add_option("--like", like, "take kind, schema, indexes and name from this snapshot (default: the newest)");
  imp->add_option("--name", name, "the new snapshot's cache name");
  auto* diff = app.add_subcommand("diff", "keys added, removed and changed from ID1 to ID2");
  diff->add_option("ID1", req_id, "older snapshot")->required();
  diff->add_option("ID2", req_id2, "newer snapshot")->required();
  diff->add_option("--limit", limit, "keys listed per kind")->default_val(20);
  auto* prune = app.add_subcommand("prune", "delete all but the newest snapshots");
  prune->add_option("--keep", keep, "how many to keep")->required();
  (void)id2;

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }

  Output o{std::cout, std::cerr};
  o.json = json;
  o.progress = isatty(STDOUT_FILENO) != 0;
  o.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  if (list->parsed()) return List(o, dir);
  if (info->parsed()) return Info(o, dir, OptionalId(id));
  if (stats->parsed()) return Stats(o, dir, id);
  if (dump->parsed()) return Dump(o, dir, id, filter);
  if (get->parsed()) return Get(o, dir, req_id, key);
  if (verify->parsed()) return Verify(o, dir, id);
  if (exp->parsed()) return Export(o, dir, id, file, meta);
  if (imp->parsed()) return Import(o, dir, file, meta, like, name);
  if (diff->parsed()) return Diff(o, dir, req_id, req_id2, limit);
  if (prune->parsed()) return Prune(o, dir, keep);
  return kExitUsage;
}
