// RedisRecordSource: rows by primary key through Redis, everything else from the inner source,
// and Redis emptied of what changes make outdated (see larder/redis_record_source.h).
#include "larder/redis_record_source.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "index/key_codec.h"
#include "redis_namespace.h"

namespace larder {

using coord::RedisConnection;
using coord::RedisReplyPtr;

struct RedisRecordSource::Impl {
  Impl(std::shared_ptr<Source> s, std::unique_ptr<coord::RedisPool> pool, std::string ns,
       Duration row_ttl)
      : inner(std::move(s)), schema(inner->schema()), redis(std::move(pool), std::move(ns)),
        row_prefix(redis.ns() + "r:"),
        ttl_ms(std::to_string(std::max<int64_t>(1, row_ttl.count() / 1'000'000))) {}

  bool IsPk(std::string_view field) const { return field == schema->primary_key(); }
  std::string Key(const FieldValue& pk) const { return row_prefix + index::EncodeKey(pk); }

  // The row Redis holds in `reply` (a bulk string of record bytes), or nullopt.
  std::optional<Record> Decode(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_STRING) return std::nullopt;
    Result<Record> r = Record::FromBytes(schema, std::string_view(reply.str, reply.len));
    if (!r.ok()) return std::nullopt;  // not a row of this schema: a miss, overwritten below
    return std::move(*r);
  }

  void Store(RedisConnection& c, const Record& row) {
    const std::string key = Key(row.primary_key());
    if (redis.Check(c.Command({"SET", key, row.bytes(), "PX", ttl_ms})).ok()) {
      redis.writes.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void RemoveRow(const FieldValue& pk) {
    redis.Remove([&] { return redis.Unlink(Key(pk)); });
  }
  void RemoveAll() {
    redis.Remove([&] { return redis.ScanUnlink(coord::GlobEscape(redis.ns()) + "*"); });
  }

  const std::shared_ptr<Source> inner;
  const std::shared_ptr<const Schema> schema;
  coord::RedisNamespace redis;
  const std::string row_prefix;
  const std::string ttl_ms;
  std::string name;
};

Result<std::shared_ptr<RedisRecordSource>> RedisRecordSource::Open(
    std::shared_ptr<Source> inner, const RedisOptions& redis, RedisRecordSourceOptions options) {
  if (inner == nullptr) return Status::InvalidArgument("inner: required");
  if (options.ttl.count() <= 0) return Status::InvalidArgument("ttl: must be positive");
  if (options.name.empty()) options.name = inner->name();
  Result<std::unique_ptr<coord::RedisPool>> pool = coord::RedisPool::Open(redis);
  if (!pool.ok()) {
    return pool.status().WithContext(fmt::format("redis record source '{}'", options.name));
  }
  auto impl = std::make_unique<Impl>(std::move(inner), std::move(*pool),
                                     options.key_prefix + options.name + ":", options.ttl);
  impl->name = options.name;
  return std::shared_ptr<RedisRecordSource>(new RedisRecordSource(std::move(impl)));
}

RedisRecordSource::RedisRecordSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RedisRecordSource::~RedisRecordSource() = default;

Subscription RedisRecordSource::Watch(RecordCache& cache) {
  Impl* p = impl_.get();
  return cache.Subscribe(
      [p](const RecordEvent& ev) {
        if (ev.remote) return;
        switch (ev.type) {
          case RecordEventType::kUpserted:
            p->RemoveRow(ev.record.primary_key());
            return;
          case RecordEventType::kItemInvalidated:
            if (p->IsPk(ev.field)) {
              p->RemoveRow(ev.value);
            } else {
              p->RemoveAll();  // which rows Redis holds for that value is unknown
            }
            return;
          case RecordEventType::kCleared:
            p->RemoveAll();
            return;
          default:
            return;
        }
      },
      RecordEventBit(RecordEventType::kUpserted) |
          RecordEventBit(RecordEventType::kItemInvalidated) |
          RecordEventBit(RecordEventType::kCleared));
}

RedisL2Stats RedisRecordSource::GetStats() const { return impl_->redis.Stats(); }

std::shared_ptr<const Schema> RedisRecordSource::schema() const { return impl_->schema; }
std::string_view RedisRecordSource::name() const { return impl_->name; }
size_t RedisRecordSource::max_batch() const { return impl_->inner->max_batch(); }

Result<std::optional<Record>> RedisRecordSource::FindById(const FieldValue& id) {
  Impl& m = *impl_;
  if (!m.redis.Usable()) return m.inner->FindById(id);
  const std::string key = m.Key(id);
  std::optional<Record> cached = m.redis.pool().With([&](RedisConnection& c) -> std::optional<Record> {
    Result<RedisReplyPtr> r = c.Command({"GET", key});
    if (!r.ok()) {
      (void)m.redis.Check(std::move(r));
      return std::nullopt;
    }
    std::optional<Record> row = m.Decode(**r);
    if (row && !(row->primary_key() == id)) return std::nullopt;  // not this key's row
    return row;
  });
  if (cached) {
    m.redis.hits.fetch_add(1, std::memory_order_relaxed);
    return cached;
  }
  m.redis.misses.fetch_add(1, std::memory_order_relaxed);
  Result<std::optional<Record>> row = m.inner->FindById(id);
  if (row.ok() && row->has_value() && m.redis.Usable()) {
    m.redis.pool().With([&](RedisConnection& c) { m.Store(c, **row); });
  }
  return row;
}

Result<std::optional<Record>> RedisRecordSource::FindOne(std::string_view field,
                                                         const FieldValue& value) {
  if (impl_->IsPk(field)) return FindById(value);
  return impl_->inner->FindOne(field, value);
}

Status RedisRecordSource::FindWhereIn(std::string_view field, std::span<const FieldValue> values,
                                      const RowSink& sink) {
  Impl& m = *impl_;
  if (!m.IsPk(field) || values.empty() || !m.redis.Usable()) {
    return m.inner->FindWhereIn(field, values, sink);
  }
  std::vector<std::string> keys;
  keys.reserve(values.size());
  for (const FieldValue& v : values) keys.push_back(m.Key(v));
  std::vector<std::string_view> args{"MGET"};
  args.insert(args.end(), keys.begin(), keys.end());
  std::vector<Record> found;
  std::vector<FieldValue> missing;
  m.redis.pool().With([&](RedisConnection& c) {
    Result<RedisReplyPtr> r = c.Command(args);
    const bool ok = r.ok() && (*r)->type == REDIS_REPLY_ARRAY && (*r)->elements == values.size();
    if (!r.ok()) (void)m.redis.Check(std::move(r));
    for (size_t i = 0; i < values.size(); ++i) {
      std::optional<Record> row = ok ? m.Decode(*(*r)->element[i]) : std::nullopt;
      if (row && row->primary_key() == values[i]) {
        found.push_back(std::move(*row));
      } else {
        missing.push_back(values[i]);
      }
    }
  });
  m.redis.hits.fetch_add(found.size(), std::memory_order_relaxed);
  m.redis.misses.fetch_add(missing.size(), std::memory_order_relaxed);
  for (Record& row : found) {
    Status s = sink(std::move(row));
    if (!s.ok()) return s;
  }
  if (missing.empty()) return Status::OK();
  std::vector<Record> loaded;
  Status s = m.inner->FindWhereIn(field, missing, [&](Record&& row) {
    loaded.push_back(row);
    return sink(std::move(row));
  });
  if (!loaded.empty()) {
    m.redis.pool().With([&](RedisConnection& c) {
      for (const Record& row : loaded) m.Store(c, row);
    });
  }
  return s;
}

Status RedisRecordSource::FindAll(const RowSink& sink) { return impl_->inner->FindAll(sink); }

Status RedisRecordSource::FindUpdatedSince(std::string_view field, const FieldValue& watermark,
                                           const RowSink& sink) {
  return impl_->inner->FindUpdatedSince(field, watermark, sink);
}

Result<std::unique_ptr<ChangeSubscription>> RedisRecordSource::SubscribeChanges(
    ChangeListener listener) {
  Impl* p = impl_.get();
  return p->inner->SubscribeChanges(
      [p, listener = std::move(listener)](std::span<const Change> changes) {
        // Redis first: whoever the cache then tells must not find the old row there.
        for (const Change& c : changes) {
          if (c.kind == ChangeKind::kResync) {
            p->RemoveAll();
          } else {
            p->RemoveRow(c.primary_key.view());
          }
        }
        listener(changes);
      });
}

}  // namespace larder
