// Warmer: fills a Cache before its keys are asked for (at startup, periodically, or before they
// expire), most important first. See docs/warming.md.
//
// A task writes one key from a Fetcher, or (a source task) runs a query on a Source and writes
// each row it returns under a key built from the row. Every task has a priority (10 runs
// first), a category, and the ttl and tags its values are written with. Warming writes with
// Cache::Set: it refreshes keys that are present too.
//
// Thread safety: every method may be called from any thread, also while a warm is running; a
// run works on the tasks registered when it started. Runs may overlap (a WarmAll during a
// background pass); each task then runs in each of them. Fetchers, queries and key functions
// run on the calling thread, on threads a parallel run starts and joins before it returns, or
// on the background thread; they must not call back into this warmer's Warm* methods.
// Ownership: the warmer borrows the cache, which must outlive it. Sources are shared. Destroying
// the warmer stops background warming (waiting for a pass in progress).
// REQUIRES: no Warm* call is in progress at destruction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "larder/cache.h"
#include "larder/clock.h"
#include "larder/record.h"
#include "larder/source.h"
#include "larder/status.h"

namespace larder {

inline constexpr int kMinWarmPriority = 1;
inline constexpr int kMaxWarmPriority = 10;

// One key and how to produce its value.
struct WarmTask {
  // The cache key; also the task's identity (registering it again replaces the task).
  std::string key{};
  // Required. An error Result or an exception fails the task; nothing is written then.
  Fetcher fetcher{};
  // Time to live of the written value; unset = the cache's default_ttl. Must be positive.
  std::optional<Duration> ttl{};
  // 1..10; higher runs first (10: what the application cannot start without, 1: nice to have).
  int priority = 5;
  // Non-empty; groups tasks for WarmCategory and CountTasksByCategory.
  std::string category = "default";
  // Written with the value (WriteOptions::tags), for Cache::InvalidateByTag.
  std::vector<std::string> tags{};
};

// Which rows a source task loads: calls a query method of `source`, passing rows to `sink`.
using SourceQuery = std::function<Status(Source& source, const RowSink& sink)>;
// Every row of the table (Source::FindAll).
SourceQuery AllRows();
// Rows whose `field` is one of `values` (Source::FindWhereIn).
SourceQuery RowsWhereIn(std::string field, std::vector<Value> values);
// Rows whose `field` (an updated-at column) is at or after `watermark` (FindUpdatedSince).
SourceQuery RowsUpdatedSince(std::string field, Value watermark);

// The cache key of a row; an empty key fails the task.
using RowKeyFn = std::function<std::string(const Record& row)>;
// The cached value of a row.
using RowValueFn = std::function<Result<std::string>(const Record& row)>;
// `prefix` followed by the row's primary key as text ("users:" + 42 -> "users:42"; strings
// as they are, without quotes).
RowKeyFn KeyFromPrimaryKey(std::string prefix);

// Rows of a Source, each stored under its own key.
struct SourceWarmTask {
  // The task's name (not a cache key), unique among all tasks: "users:all".
  std::string key{};
  // Required.
  std::shared_ptr<Source> source{};
  // Null = AllRows().
  SourceQuery query{};
  // Required.
  RowKeyFn row_key{};
  // Null = the row as JSON (Record::ToJson).
  RowValueFn row_value{};
  // As WarmTask: applied to every row written.
  std::optional<Duration> ttl{};
  int priority = 5;
  std::string category = "default";
  std::vector<std::string> tags{};
};

// A registered task, as ListTasks shows it.
struct WarmTaskInfo {
  std::string key{};
  std::string category{};
  int priority = 0;
  std::optional<Duration> ttl{};
  bool from_source = false;
};

struct WarmOptions {
  // false: tasks run one after another on the calling thread, in priority order.
  bool parallel = false;
  // With parallel: at most this many tasks run at once (the calling thread is one of the
  // runners). Tasks still start in priority order. Must be at least 1.
  size_t max_parallel = 5;
};

struct WarmFailure {
  std::string key{};  // the task's key
  Status status{};    // the fetcher's or source's error; Internal for an exception
};

// What one run did. Times come from the warmer's clock.
struct WarmReport {
  size_t total = 0;  // tasks the run selected
  size_t succeeded = 0;
  size_t failed = 0;
  std::vector<WarmFailure> failures{};  // in the order the tasks were started
  Duration total_time{};
  int64_t started_at_millis = 0;  // wall clock, milliseconds since the Unix epoch
  int64_t completed_at_millis = 0;
};

// The last run to complete (of any kind), and counters since construction.
struct WarmMetrics {
  size_t total_tasks = 0;
  size_t successful_tasks = 0;
  size_t failed_tasks = 0;
  Duration total_time{};
  int64_t started_at_millis = 0;    // 0 before the first run
  int64_t completed_at_millis = 0;  // 0 before the first run
  uint64_t runs = 0;                // completed runs, background passes included
  uint64_t background_passes = 0;
};

struct BackgroundWarmingOptions {
  // How each pass runs.
  WarmOptions warm{};
  // Unset: each pass re-runs every task (WarmAll). Set: each pass runs WarmExpiringSoon with
  // this threshold, refreshing only what is missing or about to expire.
  std::optional<Duration> expiring_within{};
  // Called on the background thread after each pass, for logging; may be null. Must not start
  // or stop background warming. Exceptions it throws are ignored.
  std::function<void(const WarmReport&)> on_pass{};
};

struct WarmerOptions {
  // Time source for metrics and background scheduling; null = the cache's clock. TTLs are
  // always the cache's.
  std::shared_ptr<Clock> clock{};
};

class Warmer {
 public:
  explicit Warmer(Cache& cache, WarmerOptions options = {});
  ~Warmer();
  Warmer(const Warmer&) = delete;
  Warmer& operator=(const Warmer&) = delete;

  // ---- Tasks ----

  // Adds `task`, replacing a task (of either kind) registered under the same key; replacing is
  // not an error. InvalidArgument, naming the key and the offending value, for an empty or
  // oversized key, a missing fetcher, a priority outside 1..10, a ttl that is not positive, an
  // empty category or tag.
  Status Register(WarmTask task);
  // Validates every task first; on InvalidArgument (naming the index and key) none is added.
  // Within the batch, a later task replaces an earlier one with the same key.
  Status RegisterBatch(std::vector<WarmTask> tasks);
  // As Register, for a source task; also InvalidArgument without a source or row_key.
  Status RegisterSource(SourceWarmTask task);
  // Removes the task `key`; false when there is none. Values it wrote stay cached.
  bool Unregister(std::string_view key);

  size_t task_count() const;
  // The tasks of `category` (every task when empty), in run order: priority, then registration.
  std::vector<WarmTaskInfo> ListTasks(std::string_view category = {}) const;
  // Number of tasks per category.
  std::map<std::string, size_t> CountTasksByCategory() const;

  // ---- Warming. InvalidArgument only for bad options; task failures are in the report. ----

  // Runs every task, in priority order. One task's failure never stops the others.
  Result<WarmReport> WarmAll(const WarmOptions& options = {});
  // Runs the tasks of `category`; an unknown category runs nothing (not an error).
  Result<WarmReport> WarmCategory(std::string_view category, const WarmOptions& options = {});
  // Runs the tasks whose keys are missing from the cache or expire in less than `threshold`
  // (Cache::Ttl). A source task counts as missing until it has succeeded once, then by the keys
  // of its last successful run. Keys without a deadline never expire. REQUIRES: threshold >= 0.
  Result<WarmReport> WarmExpiringSoon(Duration threshold, const WarmOptions& options = {});

  // ---- Background warming ----

  // Starts a thread that runs a pass (see BackgroundWarmingOptions) each time `interval` has
  // passed on the clock since the previous pass ended; the first pass comes one interval after
  // the start. FailedPrecondition when already running; InvalidArgument for a non-positive
  // interval or bad options.
  Status StartBackgroundWarming(Duration interval, BackgroundWarmingOptions options = {});
  // Stops the thread, waiting for a pass in progress. No-op when not running.
  void StopBackgroundWarming();
  bool background_running() const;
  // Makes the background thread read the clock now and returns once it has, and has finished
  // any pass that was due: for clocks that do not advance on their own (ManualClock). With the
  // system clock the thread wakes by itself. No-op when not running or called from a pass.
  void WakeBackgroundWarming();

  WarmMetrics GetMetrics() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
