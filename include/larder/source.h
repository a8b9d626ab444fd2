// Source: the table behind a RecordCache. larder ships SQLite (sqlite_source.h), PostgreSQL
// (postgres_source.h) and callback (function_source.h) sources; anything implementing this
// interface can feed a cache.
//
// A source answers point lookups, batched IN queries, full scans and incremental scans, and may
// offer a change feed. Rows arrive as Records of the source's schema. Query methods may be called
// from several threads at once; an implementation serializes internally if it must. A failure
// is a non-OK Status (Unavailable for a lost connection), never an exception.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "larder/record.h"
#include "larder/status.h"

namespace larder {

// Receives rows one at a time during a scan. Returning a non-OK status stops the scan, and the
// scan returns that status.
using RowSink = std::function<Status(Record&& row)>;

// One change to the source's table, as its change feed reports it.
enum class ChangeKind : uint8_t {
  kCreated = 0,
  kUpdated = 1,
  kDeleted = 2,
  // The feed lost track (a dropped connection): changes may have been missed, so the subscriber
  // should resynchronize. Carries no row and no key.
  kResync = 3,
};

struct Change {
  ChangeKind kind = ChangeKind::kUpdated;
  // The row after the change (created, updated), or before it when the feed knows (deleted);
  // may be empty (valid() false) for a delete that only names the key.
  Record row{};
  Value primary_key{};  // set for every kind but kResync
};

// Receives changes in the order the source committed them; a bulk statement arrives as one call
// with many changes. Called on the source's own thread (or the writing thread); must not block
// for long.
using ChangeListener = std::function<void(std::span<const Change> changes)>;

// Keeps a change-feed subscription alive; destroying it unsubscribes and waits for a delivery
// in progress to finish.
class ChangeSubscription {
 public:
  virtual ~ChangeSubscription() = default;
};

class Source {
 public:
  virtual ~Source() = default;

  // The table's fields and primary key (read from the table when the source can tell).
  virtual std::shared_ptr<const Schema> schema() const = 0;
  // The table's name, for messages.
  virtual std::string_view name() const = 0;
  // Largest number of values one FindWhereIn query may carry; longer lists are split.
  virtual size_t max_batch() const { return 500; }

  // The row whose primary key is `id`, or nullopt when there is none.
  virtual Result<std::optional<Record>> FindById(const FieldValue& id) = 0;
  // One row whose `field` equals `value` (the one with the smallest primary key), or nullopt.
  virtual Result<std::optional<Record>> FindOne(std::string_view field, const FieldValue& value) = 0;
  // Every row whose `field` is one of `values`, in one query per max_batch() values.
  virtual Status FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                             const RowSink& sink) = 0;
  // Every row.
  virtual Status FindAll(const RowSink& sink) = 0;
  // Every row whose `field` (an updated-at column) is at or after `watermark`. FailedPrecondition
  // when the table has no such field; the caller then falls back to FindAll.
  virtual Status FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                                  const RowSink& sink) = 0;

  // Subscribes to the table's changes: every change committed after this returns is delivered.
  // FailedPrecondition when the source has no change feed.
  virtual Result<std::unique_ptr<ChangeSubscription>> SubscribeChanges(ChangeListener listener) = 0;
};

}  // namespace larder
