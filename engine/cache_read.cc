// CacheCore reads: the lock-free lookup path.
#include "engine/cache_core.h"

#include "base/hash.h"

namespace larder {

void internal::ReleaseReadPin(ReadPin pin) noexcept {
  epoch::ExitPin({static_cast<epoch::ThreadRecord*>(pin.record), pin.generation});
}

namespace internal {

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
