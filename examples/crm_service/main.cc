// crm_service: the "Companies Service" of a CRM backend on larder's application-caching
// services, in one process.
//
// An SQLite database holds companies and their projects. The service answers reads through a
// Cache (get-or-set by id, cached list pages, the industry list), and every create, update or
// delete goes through an Invalidator loaded with the CRM rule table (examples/crm_rules.json),
// which removes the keys the change makes stale, cascading to related entities. At startup a
// Warmer fills the cache in priority order (critical keys first, then every company from the
// table). A rate-limited endpoint, a lock around invoice processing, sessions and a pub/sub
// channel announcing invalidations complete the picture; the run ends with the metrics
// (Prometheus text, invalidation history and stats, warming metrics).
//
// The demo checks each step and exits non-zero when one does not do what it shows.
// Usage: crm_service [OUT_DIR] [RULES_JSON]   (defaults: build/demo, examples/crm_rules.json)
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "larder/cache.h"
#include "larder/coord.h"
#include "larder/invalidator.h"
#include "larder/sqlite_source.h"
#include "larder/warmer.h"

using namespace std::chrono_literals;
using larder::FieldValue;
using larder::Result;
using larder::Status;

namespace {

constexpr int kCompanies = 500;
constexpr int kPageSize = 20;

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "crm_service: %s failed: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}
template <typename T>
T Take(Result<T> r, const char* what) {
  Check(r.status(), what);
  return std::move(*r);
}
void Expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "crm_service: expected %s\n", what);
    std::exit(1);
  }
}

const char* const kIndustries[] = {"software", "retail", "energy", "health", "logistics"};

// The database: companies(id, name, industry) and projects(id, company_id, name).
std::shared_ptr<larder::SqliteSource> CreateDatabase(const std::string& path) {
  std::filesystem::remove(path);
  std::string sql =
      "CREATE TABLE companies (id INTEGER PRIMARY KEY, name TEXT NOT NULL, industry TEXT);"
      "CREATE TABLE projects (id INTEGER PRIMARY KEY, company_id INTEGER, name TEXT);"
      "BEGIN;";
  for (int i = 1; i <= kCompanies; ++i) {
    sql += "INSERT INTO companies VALUES (" + std::to_string(i) + ", 'Company " +
           std::to_string(i) + "', '" + kIndustries[i % 5] + "');";
    for (int p = 0; p < 2; ++p) {
      sql += "INSERT INTO projects (company_id, name) VALUES (" + std::to_string(i) +
             ", 'Project " + std::to_string(i) + "." + std::to_string(p) + "');";
    }
  }
  sql += "COMMIT;";
  Check(larder::SqliteSource::ExecuteScript(path, sql), "creating the database");
  return Take(larder::SqliteSource::Open({.path = path, .table = "companies"}),
              "opening the companies table");
}

// The service: reads through the cache, writes through the invalidator.
class CompaniesService {
 public:
  CompaniesService(larder::Cache& cache, larder::Invalidator& invalidator,
                   larder::SqliteSource& db, larder::PubSub& bus)
      : cache_(cache), invalidator_(invalidator), db_(db), bus_(bus) {}

  // getOrSet by id: one database read per key however many callers miss at once.
  Result<std::string> GetCompanyById(int64_t id) {
    ++calls_;
    return cache_.GetOrSet(Key(id), [&, id]() -> Result<std::string> {
      ++db_reads_;
      Result<std::optional<larder::Record>> row = db_.FindById(FieldValue::Int64(id));
      if (!row.ok()) return row.status();
      if (!*row) return Status::NotFound("company " + std::to_string(id));
      return (*row)->ToJson();
    }, {.ttl = 300s, .tags = {"company:" + std::to_string(id)}});
  }

  // A cached list page: ids of the page's companies, in id order.
  Result<std::string> ListCompanies(int page) {
    return cache_.GetOrSet("companies:list:page=" + std::to_string(page),
                           [&, page]() -> Result<std::string> {
                             ++db_reads_;
                             std::string ids;
                             const int first = (page - 1) * kPageSize + 1;
                             for (int id = first; id < first + kPageSize; ++id) {
                               Result<std::optional<larder::Record>> row =
                                   db_.FindById(FieldValue::Int64(id));
                               if (!row.ok()) return row.status();
                               if (*row) ids += (ids.empty() ? "" : ",") + std::to_string(id);
                             }
                             return ids;
                           },
                           {.ttl = 60s});
  }

  Status CreateCompany(int64_t id, const std::string& name) {
    const FieldValue params[] = {FieldValue::Int64(id), FieldValue::String(name)};
    Status s = db_.Execute("INSERT INTO companies (id, name, industry) VALUES (?1, ?2, 'new')",
                           params);
    if (!s.ok()) return s;
    return Announce(invalidator_.InvalidateOnCreate("companies", std::to_string(id)));
  }
  Status UpdateCompany(int64_t id, const std::string& name) {
    const FieldValue params[] = {FieldValue::String(name), FieldValue::Int64(id)};
    Status s = db_.Execute("UPDATE companies SET name = ?1 WHERE id = ?2", params);
    if (!s.ok()) return s;
    return Announce(invalidator_.InvalidateOnUpdate("companies", std::to_string(id),
                                                    "{\"name\":\"" + name + "\"}"));
  }
  Status DeleteCompany(int64_t id) {
    const FieldValue params[] = {FieldValue::Int64(id)};
    Status s = db_.Execute("DELETE FROM companies WHERE id = ?1", params);
    if (!s.ok()) return s;
    return Announce(invalidator_.InvalidateOnDelete("companies", std::to_string(id)));
  }

  static std::string Key(int64_t id) { return "companies:" + std::to_string(id); }
  int db_reads() const { return db_reads_; }
  int calls() const { return calls_; }
  size_t last_removed() const { return last_removed_; }

 private:
  // Tells other parts of the process (and, with a Redis PubSub, other processes) what went.
  Status Announce(Result<larder::InvalidationResult> r) {
    if (!r.ok()) return r.status();
    last_removed_ = r->keys_removed;
    std::string patterns;
    for (const std::string& p : r->patterns) patterns += (patterns.empty() ? "" : " ") + p;
    return bus_.Publish("crm:invalidated:" + r->entities.front(), patterns).status();
  }

  larder::Cache& cache_;
  larder::Invalidator& invalidator_;
  larder::SqliteSource& db_;
  larder::PubSub& bus_;
  int db_reads_ = 0;
  int calls_ = 0;
  size_t last_removed_ = 0;
};

void Warm(larder::Cache& cache, const std::shared_ptr<larder::SqliteSource>& db) {
  larder::Warmer warmer(cache);
  Check(warmer.RegisterBatch({
            {.key = "companies:industries",
             .fetcher = [] { return Result<std::string>(std::string("energy,health,logistics,"
                                                                    "retail,software")); },
             .ttl = 3600s,
             .priority = 10,
             .category = "critical"},
            {.key = "deals:stats",
             .fetcher = [] { return Result<std::string>(std::string("{\"open\":0}")); },
             .ttl = 600s,
             .priority = 8,
             .category = "dashboard"},
        }),
        "registering warming tasks");
  Check(warmer.RegisterSource({.key = "companies:all",
                               .source = db,
                               .row_key = larder::KeyFromPrimaryKey("companies:"),
                               .ttl = 300s,
                               .priority = 5,
                               .category = "entities"}),
        "registering the companies table");
  const larder::WarmReport report =
      Take(warmer.WarmAll({.parallel = true, .max_parallel = 2}), "warming");
  const larder::WarmMetrics m = warmer.GetMetrics();
  std::printf("warmed %zu tasks (%zu ok, %zu failed) in %.1f ms; by category:", m.total_tasks,
              m.successful_tasks, m.failed_tasks,
              std::chrono::duration<double, std::milli>(m.total_time).count());
  for (const auto& [category, n] : warmer.CountTasksByCategory()) {
    std::printf(" %s=%zu", category.c_str(), n);
  }
  std::printf("\n");
  Expect(report.failed == 0 && m.successful_tasks == 3, "every warming task to succeed");
  Expect(cache.Exists("companies:industries") && cache.Exists("companies:1") &&
             cache.Exists("companies:" + std::to_string(kCompanies)),
         "the critical keys and every company to be cached after warming");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string out_dir = argc > 1 ? argv[1] : "build/demo";
  const std::string rules = argc > 2 ? argv[2] : "examples/crm_rules.json";
  std::filesystem::create_directories(out_dir);
  std::shared_ptr<larder::SqliteSource> db = CreateDatabase(out_dir + "/crm.db");

  // Pattern invalidation visits only the keys under a pattern's prefix.
  std::unique_ptr<larder::Cache> cache =
      Take(larder::Cache::Open({.max_entries = 100'000, .prefix_index = true}), "opening the cache");
  larder::Invalidator invalidator(*cache);
  const size_t loaded = Take(invalidator.LoadRulesFromFile(rules), "loading the rules");
  std::printf("loaded %zu invalidation rules from %s\n", loaded, rules.c_str());

  // Announcements of invalidations, for whoever listens (here: a counter).
  std::unique_ptr<larder::PubSub> bus = Take(larder::NewLocalPubSub({}), "starting pub/sub");
  std::atomic<int> announcements{0};
  larder::ChannelSubscription listener =
      Take(bus->PSubscribe("crm:invalidated:*",
                           [&](const larder::PubSubMessage& m) {
                             if (m.channel == "crm:invalidated:companies") ++announcements;
                           }),
           "subscribing");

  Warm(*cache, db);
  CompaniesService service(*cache, invalidator, *db, *bus);

  // Reads: warm keys cost no database read; list pages are loaded once.
  std::string company = Take(service.GetCompanyById(42), "reading company 42");
  std::printf("company 42: %s\n", company.c_str());
  Expect(service.db_reads() == 0, "company 42 to come from the warmed cache");
  std::string page = Take(service.ListCompanies(1), "listing page 1");
  (void)Take(service.ListCompanies(1), "listing page 1 again");
  (void)Take(service.ListCompanies(2), "listing page 2");
  Expect(service.db_reads() == 2, "each list page to be read from the database once");
  std::printf("companies page 1: %s\n", page.c_str());

  // Writes invalidate by rule: a company update removes companies:*, and cascades to projects,
  // contacts and deals (the rule table's related entities).
  Check(cache->Set("projects:company:42", "[\"Project 42.0\",\"Project 42.1\"]", {.ttl = 60s}),
        "caching a project list");
  Check(cache->Set("users:7", "{\"name\":\"Ana\"}"), "caching a user");
  Check(service.UpdateCompany(42, "Company 42 (renamed)"), "updating company 42");
  std::printf("update of company 42 removed %zu keys (companies:*, cascading to projects, "
              "contacts and deals)\n",
              service.last_removed());
  Expect(!cache->Exists("companies:42") && !cache->Exists("companies:list:page=1") &&
             !cache->Exists("companies:industries") && !cache->Exists("projects:company:42") &&
             !cache->Exists("deals:stats"),
         "the update to remove companies, their lists, projects and deals");
  Expect(cache->Exists("users:7"), "users to be untouched by a company update");
  company = Take(service.GetCompanyById(42), "reading company 42 after the update");
  Expect(company.find("renamed") != std::string::npos, "the renamed company to be read back");

  Check(service.CreateCompany(1000, "Newco"), "creating a company");
  Expect(Take(service.GetCompanyById(1000), "reading the new company").find("Newco") !=
             std::string::npos,
         "the new company to be readable");
  Check(service.DeleteCompany(1000), "deleting a company");
  Expect(service.GetCompanyById(1000).status().IsNotFound(), "a deleted company to be gone");

  // What a delete of company 7 would remove, without removing it.
  (void)Take(service.GetCompanyById(7), "reading company 7");
  const larder::InvalidationResult dry =
      Take(invalidator.DryRun(larder::InvalidationEvent::kDeleted, "companies", {"7"}), "dry run");
  std::printf("a delete of company 7 would remove %zu key%s (dry run; nothing removed)\n",
              dry.keys.size(), dry.keys.size() == 1 ? "" : "s");
  Expect(cache->Exists("companies:7"), "the dry run to remove nothing");

  // Tags: every cached company carries company:<id>.
  Expect(cache->InvalidateByTag("company:7") == 1, "the company:7 tag to name one entry");

  // A rate-limited endpoint: at most 5 requests per second per user (exact sliding window).
  std::unique_ptr<larder::RateLimiter> limiter =
      larder::NewLocalRateLimiter(larder::RateLimitMode::kSlidingWindow);
  int allowed = 0;
  for (int i = 0; i < 8; ++i) {
    const larder::RateLimitResult r =
        Take(limiter->CheckRateLimit("user:123:api", 5, 1s), "checking the rate limit");
    allowed += r.allowed ? 1 : 0;
  }
  std::printf("rate limit: %d of 8 requests allowed (limit 5 per second)\n", allowed);
  Expect(allowed == 5, "exactly the limit to be allowed");

  // A lock around invoice processing: one holder at a time, released only with its token.
  std::unique_ptr<larder::LockService> locks = larder::NewLocalLockService();
  const std::optional<std::string> token =
      Take(locks->AcquireLock("process:invoice:123", 30s), "acquiring the lock");
  Expect(token.has_value(), "the free lock to be acquired");
  Expect(!Take(locks->AcquireLock("process:invoice:123", 30s), "acquiring again").has_value(),
         "a held lock to be refused");
  Expect(!Take(locks->ReleaseLock("process:invoice:123", "not-the-token"), "wrong release"),
         "a wrong token not to release the lock");
  Expect(Take(locks->ReleaseLock("process:invoice:123", *token), "release"),
         "the holder's token to release the lock");
  std::printf("lock: acquired, refused to a second caller, released by its holder\n");

  // Sessions: sliding expiry, listed and ended per user.
  std::unique_ptr<larder::SessionStore> sessions = larder::NewLocalSessionStore();
  const std::string sid =
      Take(sessions->CreateSession("user:123", "{\"role\":\"admin\"}", 30min), "new session");
  (void)Take(sessions->CreateSession("user:123", "{}", 30min), "second session");
  Expect(Take(sessions->GetSession(sid), "reading the session").has_value(), "a live session");
  Expect(Take(sessions->DestroyUserSessions("user:123"), "logging out everywhere") == 2,
         "both sessions to end");

  Check(bus->Flush(), "delivering announcements");
  std::printf("pub/sub: %d announcements on crm:invalidated:* (one per write)\n",
              announcements.load());
  Expect(announcements.load() == 3, "one announcement per write");

  // Metrics.
  const larder::InvalidatorStats stats = invalidator.GetStats();
  std::printf("invalidations: %llu (last hour %llu), keys removed %llu; history, newest first:\n",
              static_cast<unsigned long long>(stats.total),
              static_cast<unsigned long long>(stats.last_hour),
              static_cast<unsigned long long>(stats.keys_removed));
  for (const larder::InvalidationRecord& h : invalidator.GetHistory(5)) {
    std::printf("  %s %s %s: %zu patterns, %zu key%s removed\n",
                std::string(larder::InvalidationEventName(h.event)).c_str(), h.entity.c_str(),
                h.ids.empty() ? "" : h.ids.front().c_str(), h.patterns.size(), h.keys_removed,
                h.keys_removed == 1 ? "" : "s");
  }
  Expect(stats.total == 3, "three invalidation events");
  const std::string metrics = cache->ExportPrometheus("crm");
  std::printf("Prometheus metrics (excerpt):\n");
  for (const char* name : {"larder_cache_entries{", "larder_cache_hits_total{",
                           "larder_cache_misses_total{", "larder_cache_loads_total{"}) {
    const size_t at = metrics.find(name);
    Expect(at != std::string::npos, "the cache's metric families");
    std::printf("  %s\n", metrics.substr(at, metrics.find('\n', at) - at).c_str());
  }
  std::printf("crm_service: every step did what it shows (%d reads, %d from the database)\n",
              service.calls(), service.db_reads());
  return 0;
}
