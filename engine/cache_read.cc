// CacheCore reads: the lock-free lookup path.
#include "engine/cache_core.h"

#include "base/hash.h"

namespace larder {

void internal::ReleaseReadPin() noexcept { epoch::Exit(); }

namespace internal {

bool CacheCore::LiveForRead(EntryHeader* e) const noexcept {
  const int64_t d = e->deadline.load(std::memory_order_relaxed);
  if (d == kNever) return true;
  if (clock_->Reached(d)) return false;
  if (e->flags & EntryHeader::kSliding) {
    // Move the deadline only when it gains more than ttl/16, so a hot sliding key writes its
    // line rarely; racing readers store nearly equal values.
    const int64_t ttl = e->sliding_ttl();
    const int64_t next = DeadlineAfter(clock_->CoarseNanos(), ttl);
    if (next - d > ttl / 16) e->deadline.store(next, std::memory_order_relaxed);
  }
  return true;
}

ValueHandle CacheCore::Get(std::string_view key) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Enter();
  const uint64_t slot = shard.Find(hash, key);
  if (slot != 0) {
    EntryHeader* e = shard.Entry(Table::IdOf(slot));
    if (LiveForRead(e)) {
      shard.RecordAccess(slot, epoch::ThreadOrdinal());
      counters_.Add(kHits);
      return ValueHandle(e->key(), e->value());
    }
  }
  epoch::Exit();
  counters_.Add(kMisses);
  return {};
}

bool CacheCore::GetCopy(std::string_view key, std::string* value) {
  ValueHandle h = Get(key);
  if (!h) return false;
  value->assign(h.value());
  return true;
}

bool CacheCore::Exists(std::string_view key) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Guard guard;
  const uint64_t slot = shard.Find(hash, key);
  return slot != 0 && Live(shard.Entry(Table::IdOf(slot)));
}

KeyTtl CacheCore::Ttl(std::string_view key) {
  const uint64_t hash = HashKey(key);
  Shard& shard = ShardFor(hash);
  epoch::Guard guard;
  const uint64_t slot = shard.Find(hash, key);
  KeyTtl out;
  if (slot == 0) return out;
  const EntryHeader* e = shard.Entry(Table::IdOf(slot));
  const int64_t d = e->deadline.load(std::memory_order_relaxed);
  if (d == kNever) {
    out.exists = true;
    return out;
  }
  const int64_t now = clock_->NowNanos();
  if (now >= d) return out;
  out.exists = true;
  out.remaining = Duration(d - now);
  return out;
}

}  // namespace internal
}  // namespace larder
