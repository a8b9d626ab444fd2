// RedisRecordSource: rows by primary key through Redis, everything else from the inner source,
// and Redis emptied of what changes make outdated (see larder/redis_record_source.h).
#include "larder/redis_record_source.h"

#include <algorithm>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "index/key_codec.h"
#include "redis_namespace.h"

namespace larder {
namespace {

using coord::RedisConnection;
using coord::RedisReplyPtr;
using coord::RedisScript;

// For each row key: the row, or on a miss 1 when this load took the row's lease, 0 when another
// load holds it. KEYS: n row keys, then their n leases; ARGV: token, lease ms.
constexpr RedisScript kReadRows{"record rows read", R"lua(
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v then
    out[i] = v
  elseif redis.call('SET', KEYS[n + i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
)lua"};

// Writes a loaded row only while its lease (taken by kReadRows) is still this load's: a removal
// of the row, or of the namespace, deletes the lease. KEYS: row, lease; ARGV: bytes, ttl ms,
// token. 1 written, 0 refused.
constexpr RedisScript kStoreRow{"record row store", R"lua(
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
)lua"};

// How long a table read may take and still write its rows to Redis.
constexpr char kLeaseMillis[] = "10000";

}  // namespace

struct RedisRecordSource::Impl {
  Impl(std::shared_ptr<Source> s, std::unique_ptr<coord::RedisPool> pool, std::string ns,
       Duration row_ttl)
      : inner(std::move(s)), schema(inner->schema()), redis(std::move(pool), std::move(ns)),
        row_prefix(redis.ns() + "r:"),
        lease_prefix(redis.ns() + "l:"),
        ttl_ms(std::to_string(std::max<int64_t>(1, row_ttl.count() / 1'000'000))) {}

  bool IsPk(std::string_view field) const { return field == schema->primary_key(); }
  std::string Key(const FieldValue& pk) const { return row_prefix + index::EncodeKey(pk); }
  std::string Lease(const FieldValue& pk) const { return lease_prefix + index::EncodeKey(pk); }

  // Whether a load may write a missing row back: Redis failed (no), this load took the row's
  // lease (yes), another load holds it (no, counted as refused).
  enum class LeaseState : uint8_t { kNoAnswer, kTaken, kHeldElsewhere };

  // Reads the rows of `ids` from Redis: found rows go to `found`, the others to `missing`, with
  // their lease state in `leases`.
  void ReadRows(std::span<const FieldValue> ids, const std::string& token,
                std::vector<Record>* found, std::vector<FieldValue>* missing,
                std::vector<LeaseState>* leases) {
    std::vector<std::string> names;
    names.reserve(2 * ids.size());
    for (const FieldValue& id : ids) names.push_back(Key(id));
    for (const FieldValue& id : ids) names.push_back(Lease(id));
    const std::vector<std::string_view> keys(names.begin(), names.end());
    const std::string_view args[] = {token, kLeaseMillis};
    redis.pool().With([&](RedisConnection& c) {
      Result<RedisReplyPtr> r = c.Eval(kReadRows, keys, args);
      const bool ok = r.ok() && (*r)->type == REDIS_REPLY_ARRAY && (*r)->elements == ids.size();
      if (!r.ok()) (void)redis.Check(std::move(r));
      for (size_t i = 0; i < ids.size(); ++i) {
        const redisReply* e = ok ? (*r)->element[i] : nullptr;
        std::optional<Record> row = e != nullptr ? Decode(*e) : std::nullopt;
        if (row && row->primary_key() == ids[i]) {
          found->push_back(std::move(*row));
          continue;
        }
        missing->push_back(ids[i]);
        // A stored value that did not decode as this key's row: not written over.
        leases->push_back(e == nullptr || e->type != REDIS_REPLY_INTEGER ? LeaseState::kNoAnswer
                          : e->integer == 1 ? LeaseState::kTaken
                                            : LeaseState::kHeldElsewhere);
      }
    });
  }

  // The row Redis holds in `reply` (a bulk string of record bytes), or nullopt.
  std::optional<Record> Decode(const redisReply& reply) {
    if (reply.type != REDIS_REPLY_STRING) return std::nullopt;
    Result<Record> r = Record::FromBytes(schema, std::string_view(reply.str, reply.len));
    if (!r.ok()) return std::nullopt;  // not a row of this schema: a miss, overwritten below
    return std::move(*r);
  }

  // Writes a row read from the table under the lease `token` took for it.
  void Store(RedisConnection& c, const Record& row, const std::string& token) {
    const std::string key = Key(row.primary_key()), lease = Lease(row.primary_key());
    const std::string_view keys[] = {key, lease};
    const std::string_view args[] = {row.bytes(), ttl_ms, token};
    redis.CountWrite(c.Eval(kStoreRow, keys, args));
  }

  void RemoveRow(const FieldValue& pk) {
    redis.Remove([&] {
      const std::string key = Key(pk), lease = Lease(pk);
      return redis.pool().With(
          [&](RedisConnection& c) { return redis.Check(c.Command({"UNLINK", key, lease})); });
    });
  }
  void RemoveAll() {
    redis.Remove([&] { return redis.ScanUnlink(coord::GlobEscape(redis.ns()) + "*"); });
  }

  const std::shared_ptr<Source> inner;
  const std::shared_ptr<const Schema> schema;
  coord::RedisNamespace redis;
  const std::string row_prefix;
  const std::string lease_prefix;
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
  const std::string token = m.redis.NewLeaseToken();
  std::vector<Record> found;
  std::vector<FieldValue> missing;
  std::vector<Impl::LeaseState> leased;
  m.ReadRows(std::span<const FieldValue>(&id, 1), token, &found, &missing, &leased);
  if (!found.empty()) {
    m.redis.hits.fetch_add(1, std::memory_order_relaxed);
    return std::optional<Record>(std::move(found.front()));
  }
  m.redis.misses.fetch_add(1, std::memory_order_relaxed);
  Result<std::optional<Record>> row = m.inner->FindById(id);
  if (row.ok() && row->has_value()) {
    if (leased.front() == Impl::LeaseState::kTaken) {
      m.redis.pool().With([&](RedisConnection& c) { m.Store(c, **row, token); });
    } else if (leased.front() == Impl::LeaseState::kHeldElsewhere) {
      m.redis.refused.fetch_add(1, std::memory_order_relaxed);
    }
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
  const std::string token = m.redis.NewLeaseToken();
  std::vector<Record> found;
  std::vector<FieldValue> missing;
  std::vector<Impl::LeaseState> leased;
  m.ReadRows(values, token, &found, &missing, &leased);
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
    std::unordered_map<std::string, Impl::LeaseState> leases;  // by encoded primary key
    for (size_t i = 0; i < missing.size(); ++i) leases[index::EncodeKey(missing[i])] = leased[i];
    m.redis.pool().With([&](RedisConnection& c) {
      for (const Record& row : loaded) {
        const auto it = leases.find(index::EncodeKey(row.primary_key()));
        if (it == leases.end()) continue;
        if (it->second == Impl::LeaseState::kTaken) {
          m.Store(c, row, token);
        } else if (it->second == Impl::LeaseState::kHeldElsewhere) {
          m.redis.refused.fetch_add(1, std::memory_order_relaxed);
        }
      }
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
