// RedisRecordSource: a Source in front of another that keeps rows in a Redis server shared by
// every instance, the Redis layer of a record cache. A record cache over it asks Redis before the
// table on a miss, so a row one instance loaded serves the others (and an instance that just
// started) without a database query.
//
//   FindById, FindOne / FindWhereIn on the primary key:
//       Redis first (one script per call or batch); rows Redis lacks come from the inner
//       source and are written to Redis for `ttl`, each only under the lease the read took for
//       it (cancelled by a removal of the row or of everything meanwhile: a row read while a
//       removal ran may be the old one, so it is not written; RedisL2Stats::refused counts
//       these). Rows the table lacks are not kept.
//   FindOne / FindWhereIn on other fields, FindAll, FindUpdatedSince:
//       the inner source (lookups by other keys and syncs read the truth).
//   SubscribeChanges: the inner source's feed; each change first removes the row from Redis.
//
// Coherence: Watch(cache) makes the cache's own changes remove what they name from Redis
// (Upsert: the row; Invalidate by primary key: the row; by another field, or Clear: everything
// this source keeps there, since which rows Redis holds for that value is unknown). Call it
// before connecting the cache's Backplane, so Redis is updated before the others are told.
// Changes applied for other instances leave Redis alone: their origin did it.
//
// Redis never makes a query fail: an error is counted and the inner source answers. A removal
// Redis may have missed makes this source bypass Redis until its whole namespace is emptied
// (tried at each use). Rows read from Redis are validated against the schema; anything else is
// a miss. Keys: key_prefix + name + ":r:" + the primary key as index keys encode it.
//
// Thread safety: every method may be called from any thread. Ownership: shares the inner
// source; owns its Redis connections.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "larder/events.h"
#include "larder/record_cache.h"
#include "larder/redis.h"
#include "larder/redis_l2.h"
#include "larder/source.h"

namespace larder {

struct RedisRecordSourceOptions {
  std::string name{};  // empty: the inner source's name
  std::string key_prefix = "larder:l2:";
  // How long a row stays in Redis after it was read from the table. Keep it at most the record
  // cache's ttl, so a row is never older than a cache's own copy would be. Must be positive.
  Duration ttl = std::chrono::minutes(5);
};

class RedisRecordSource final : public Source {
 public:
  // InvalidArgument for a null inner source or a ttl that is not positive; the server's errors
  // (Unavailable; FailedPrecondition for a wrong password).
  static Result<std::shared_ptr<RedisRecordSource>> Open(std::shared_ptr<Source> inner,
                                                         const RedisOptions& redis,
                                                         RedisRecordSourceOptions options = {});
  ~RedisRecordSource() override;

  // Removes from Redis what `cache`'s own changes make outdated, while the subscription lives.
  // REQUIRES: `cache` reads through this source.
  [[nodiscard]] Subscription Watch(RecordCache& cache);
  RedisL2Stats GetStats() const;

  std::shared_ptr<const Schema> schema() const override;
  std::string_view name() const override;
  size_t max_batch() const override;
  Result<std::optional<Record>> FindById(const FieldValue& id) override;
  Result<std::optional<Record>> FindOne(std::string_view field, const FieldValue& value) override;
  Status FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                     const RowSink& sink) override;
  Status FindAll(const RowSink& sink) override;
  Status FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                          const RowSink& sink) override;
  Result<std::unique_ptr<ChangeSubscription>> SubscribeChanges(ChangeListener listener) override;

  struct Impl;

 private:
  explicit RedisRecordSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace larder
