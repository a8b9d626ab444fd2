// The record suite: RecordCache over an SQLite table of 1M users with two indexes (a unique
// email, a multi-valued org_id). Bulk work (full sync against a bare sqlite3 scan, ToJson,
// LoadFromJson), lookups (against the same queries in SQLite) and memory per record.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "results.h"
#include "tsc.h"

namespace larder::bench {

struct RecordConfig {
  std::filesystem::path work_dir;  // the database is (re)built here
  std::vector<int> thread_counts;
  double seconds = 2.0;            // per timed lookup run
  int reps = 3;                    // of every measurement
};

// Runs everything, printing a line per result; fills results->record and ->record_memory.
void RunRecordSuite(const RecordConfig& config, const TscCalibration& tsc, Results* results);

// The memory measurement, run in a fresh child process (`--record-memory-child DB`): prints
// "records=N rss_before=B rss_after=A field_bytes=F reported=R".
int RecordMemoryChildMain(const std::string& db_path);

}  // namespace larder::bench
