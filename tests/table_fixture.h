// Test helper: an in-memory users table behind a FunctionSource, with call counters, failure
// injection and a gate that holds loads open, plus a RecordCache over it on a ManualClock.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "larder/advanced/executor.h"
#include "larder/function_source.h"
#include "larder/record_cache.h"

namespace larder::testing {

inline constexpr Duration kSec = std::chrono::seconds(1);

class UsersTable {
 public:
  UsersTable() {
    schema_ = *Schema::Create({{"id", FieldType::kInt64},
                               {"email", FieldType::kString, false},
                               {"name", FieldType::kString},
                               {"org_id", FieldType::kInt64},
                               {"updatedAt", FieldType::kTimestamp}});
  }

  Record Row(int64_t id, const std::string& email, int64_t org, int64_t updated_ms = 0,
             const std::string& name = "n") const {
    return *RecordBuilder(schema_)
                .Set("id", id)
                .Set("email", std::string_view(email))
                .Set("name", std::string_view(name))
                .Set("org_id", org)
                .Set("updatedAt", FieldValue::Time(Timestamp::FromMillis(updated_ms)))
                .Build();
  }
  void Put(const Record& r) {
    std::lock_guard lock(mu_);
    rows_[r.Get("id").as_int64()] = r;
  }
  void Erase(int64_t id) {
    std::lock_guard lock(mu_);
    rows_.erase(id);
  }
  void Fail(Status s) {
    std::lock_guard lock(mu_);
    failure_ = std::move(s);
  }
  // Loads block until Open() while closed; `waiting` counts blocked loads.
  void CloseGate() {
    std::lock_guard lock(mu_);
    gate_open_ = false;
  }
  void OpenGate() {
    {
      std::lock_guard lock(mu_);
      gate_open_ = true;
    }
    cv_.notify_all();
  }
  int waiting() const { return waiting_.load(); }

  std::shared_ptr<FunctionSource> Source(bool with_updated_since = true) {
    FunctionSourceOptions o;
    o.schema = schema_;
    o.name = "users";
    o.max_batch = max_batch;
    o.find_all = [this](const RowSink& sink) {
      ++find_all_calls;
      for (const Record& r : Snapshot()) {
        Status s = sink(Record(r));
        if (!s.ok()) return s;
      }
      return failure();
    };
    o.find_by_id = [this](const FieldValue& id) -> Result<std::optional<Record>> {
      ++find_by_id_calls;
      Gate();
      Status f = failure();
      if (!f.ok()) return f;
      for (const Record& r : Snapshot()) {
        if (r.Get("id") == id) return std::optional<Record>(r);
      }
      return std::optional<Record>();
    };
    o.find_where_in = [this](std::string_view field, std::span<const FieldValue> values,
                             const RowSink& sink) {
      ++find_where_in_calls;
      where_in_values += static_cast<int>(values.size());
      Gate();
      Status f = failure();
      if (!f.ok()) return f;
      for (const Record& r : Snapshot()) {
        for (const FieldValue& v : values) {
          if (r.Get(field) == v) {
            Status s = sink(Record(r));
            if (!s.ok()) return s;
            break;
          }
        }
      }
      return Status::OK();
    };
    if (with_updated_since) {
      o.find_updated_since = [this](std::string_view field, const FieldValue& watermark,
                                    const RowSink& sink) {
        ++find_updated_since_calls;
        last_watermark = watermark.as_timestamp().micros;
        for (const Record& r : Snapshot()) {
          if (r.Get(field).as_timestamp().micros >= watermark.as_timestamp().micros) {
            Status s = sink(Record(r));
            if (!s.ok()) return s;
          }
        }
        return failure();
      };
    }
    return *FunctionSource::Create(std::move(o));
  }

  const std::shared_ptr<const Schema>& schema() const { return schema_; }

  std::atomic<int> find_all_calls{0}, find_by_id_calls{0}, find_where_in_calls{0},
      where_in_values{0}, find_updated_since_calls{0};
  std::atomic<int64_t> last_watermark{0};
  size_t max_batch = 500;

 private:
  std::vector<Record> Snapshot() {
    std::lock_guard lock(mu_);
    std::vector<Record> out;
    for (auto& [id, r] : rows_) out.push_back(r);
    return out;
  }
  Status failure() {
    std::lock_guard lock(mu_);
    return failure_;
  }
  void Gate() {
    std::unique_lock lock(mu_);
    ++waiting_;
    cv_.wait(lock, [&] { return gate_open_; });
    --waiting_;
  }

  std::shared_ptr<const Schema> schema_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, Record> rows_;
  Status failure_;
  bool gate_open_ = true;
  std::atomic<int> waiting_{0};
};

// A RecordCache over a UsersTable on a ManualClock, maintenance and background work driven by
// the test.
struct CacheOverTable {
  explicit CacheOverTable(RecordCacheOptions o = {}, bool with_updated_since = true) {
    clock = std::make_shared<ManualClock>();
    executor = std::make_shared<ManualExecutor>();
    o.clock = clock;
    o.maintenance_interval = Duration::zero();
    if (o.executor == nullptr) o.executor = executor;
    if (o.key_fields.empty()) o.key_fields = {{"email", true}, {"org_id", false}};
    source = table.Source(with_updated_since);
    auto opened = RecordCache::Open(source, std::move(o));
    REQUIRE_MESSAGE(opened.ok(), opened.status().ToString());
    cache = std::move(*opened);
  }
  RecordCache* operator->() { return cache.get(); }
  // Email of the record found, "<not found>", "<not loaded>" or "<error: ...>".
  std::string Email(const RecordLookup& r) {
    if (!r.ok()) return "<error: " + std::string(r.status().message()) + ">";
    if (r.outcome() == LookupOutcome::kNotFound) return "<not found>";
    if (r.outcome() == LookupOutcome::kNotLoaded) return "<not loaded>";
    return std::string(r.record().Get("email").as_string());
  }
  std::string ById(int64_t id) { return Email(cache->GetById(FieldValue::Int64(id))); }
  std::string ByEmail(const std::string& e) {
    return Email(cache->GetByKey("email", FieldValue::String(e)));
  }

  UsersTable table;
  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<ManualExecutor> executor;
  std::shared_ptr<FunctionSource> source;
  std::unique_ptr<RecordCache> cache;
};

}  // namespace larder::testing
