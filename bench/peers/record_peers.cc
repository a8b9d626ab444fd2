// Record lookup peers: a loaded RecordCache, and SQLite queries on the same table.
#include "record_peers.h"

#include <sqlite3.h>

#include <stdexcept>
#include <string>
#include <utility>

#include "tsc.h"

namespace larder::bench {
namespace {

// Runs lookups [begin, begin + count) of `stream`; `lookup(k, &checksum)` returns whether it
// found something. The first lookup of every kLatencySampleEvery is timed.
template <typename LookupFn>
void RunLookups(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats,
                LookupFn&& lookup) {
  uint64_t checksum = stats->checksum;
  uint64_t failed = 0;
  const size_t end = begin + count;
  for (size_t group = begin; group < end; group += kLatencySampleEvery) {
    const uint64_t start = ReadTsc();
    failed += lookup(stream.keys[group], &checksum) ? 0 : 1;
    stats->latency.Record(ReadTsc() - start);
    for (size_t i = group + 1; i < group + kLatencySampleEvery; ++i) {
      failed += lookup(stream.keys[i], &checksum) ? 0 : 1;
    }
  }
  stats->checksum = checksum;
  stats->failed_ops += failed;
  stats->ops += count;
}

class RecordCacheWorker final : public Worker {
 public:
  RecordCacheWorker(RecordCache* cache, LookupKind kind, const std::vector<std::string>* emails,
                    int64_t orgs)
      : cache_(cache), kind_(kind), emails_(emails), orgs_(orgs) {}

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunLookups(stream, begin, count, stats, [this](uint32_t k, uint64_t* checksum) {
      RecordLookup r;
      switch (kind_) {
        case LookupKind::kById: r = cache_->GetById(FieldValue::Int64(k + 1)); break;
        case LookupKind::kByUniqueKey:
          r = cache_->GetByKey("email", FieldValue::String((*emails_)[k]));
          break;
        case LookupKind::kByMultiKey:
          r = cache_->GetByKey("org_id", FieldValue::Int64((k + 1) % orgs_));
          break;
      }
      if (!r.found()) return false;
      for (size_t i = 0; i < r.count(); ++i) {
        *checksum += static_cast<uint64_t>(r.record(i).Get(size_t{0}).as_int64());
      }
      return true;
    });
  }

 private:
  RecordCache* cache_;
  LookupKind kind_;
  const std::vector<std::string>* emails_;
  int64_t orgs_;
};

class RecordCachePeer final : public Peer {
 public:
  RecordCachePeer(RecordCache* cache, LookupKind kind, const std::vector<std::string>* emails,
                  size_t rows)
      : cache_(cache), kind_(kind), emails_(emails), orgs_(RecordOrgCount(rows)) {}
  void Fill(const KeySet&) override {}  // loaded by the suite
  uint64_t EntryCount() override { return cache_->Size(); }
  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<RecordCacheWorker>(cache_, kind_, emails_, orgs_);
  }

 private:
  RecordCache* cache_;
  LookupKind kind_;
  const std::vector<std::string>* emails_;
  int64_t orgs_;
};

class SqliteQueryWorker final : public Worker {
 public:
  SqliteQueryWorker(const std::string& path, LookupKind kind, const std::vector<std::string>* emails,
                    int64_t orgs)
      : kind_(kind), emails_(emails), orgs_(orgs) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK) {
      throw std::runtime_error("sqlite: cannot open " + path + ": " + sqlite3_errmsg(db_));
    }
    const char* sql = kind == LookupKind::kById         ? "SELECT * FROM users WHERE id = ?1"
                      : kind == LookupKind::kByUniqueKey ? "SELECT * FROM users WHERE email = ?1"
                                                         : "SELECT * FROM users WHERE org_id = ?1";
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
  }
  ~SqliteQueryWorker() override {
    sqlite3_finalize(stmt_);
    sqlite3_close(db_);
  }

  void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) override {
    RunLookups(stream, begin, count, stats, [this](uint32_t k, uint64_t* checksum) {
      switch (kind_) {
        case LookupKind::kById: sqlite3_bind_int64(stmt_, 1, k + 1); break;
        case LookupKind::kByUniqueKey: {
          const std::string& e = (*emails_)[k];
          sqlite3_bind_text(stmt_, 1, e.data(), static_cast<int>(e.size()), SQLITE_STATIC);
          break;
        }
        case LookupKind::kByMultiKey: sqlite3_bind_int64(stmt_, 1, (k + 1) % orgs_); break;
      }
      bool found = false;
      while (sqlite3_step(stmt_) == SQLITE_ROW) {
        found = true;
        // Every column read, as a cache hit hands the whole row over.
        *checksum += static_cast<uint64_t>(sqlite3_column_int64(stmt_, 0));
        for (int c = 1; c < sqlite3_column_count(stmt_); ++c) {
          const unsigned char* text = sqlite3_column_text(stmt_, c);
          *checksum += static_cast<uint64_t>(sqlite3_column_bytes(stmt_, c)) +
                       (text != nullptr ? text[0] : 0);
        }
      }
      sqlite3_reset(stmt_);
      return found;
    });
  }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  LookupKind kind_;
  const std::vector<std::string>* emails_;
  int64_t orgs_;
};

class SqliteQueryPeer final : public Peer {
 public:
  SqliteQueryPeer(std::string path, LookupKind kind, const std::vector<std::string>* emails,
                  size_t rows)
      : path_(std::move(path)), kind_(kind), emails_(emails), orgs_(RecordOrgCount(rows)),
        rows_(rows) {}
  void Fill(const KeySet&) override {}
  uint64_t EntryCount() override { return rows_; }
  std::unique_ptr<Worker> NewWorker() override {
    return std::make_unique<SqliteQueryWorker>(path_, kind_, emails_, orgs_);
  }

 private:
  std::string path_;
  LookupKind kind_;
  const std::vector<std::string>* emails_;
  int64_t orgs_;
  size_t rows_;
};

}  // namespace

std::string RecordEmail(int64_t id) { return "user" + std::to_string(id) + "@example.com"; }

const char* LookupWorkloadName(LookupKind kind) {
  switch (kind) {
    case LookupKind::kById: return "get_by_id";
    case LookupKind::kByUniqueKey: return "get_by_key_unique";
    case LookupKind::kByMultiKey: return "get_by_key_multi";
  }
  return "?";
}

std::unique_ptr<Peer> MakeRecordCachePeer(RecordCache* cache, LookupKind kind,
                                          const std::vector<std::string>* emails, size_t rows) {
  return std::make_unique<RecordCachePeer>(cache, kind, emails, rows);
}

std::unique_ptr<Peer> MakeSqliteQueryPeer(const std::string& db_path, LookupKind kind,
                                          const std::vector<std::string>* emails, size_t rows) {
  return std::make_unique<SqliteQueryPeer>(db_path, kind, emails, rows);
}

}  // namespace larder::bench
