// Multi-valued index slots: a value's primary keys as one list while it is small, as a
// directory and hash-partitioned chunks once it is large (index/pk_chunks.h).
//
// Writers of one value are serialised by a value stripe (taken inside a primary-key stripe,
// never the other way round); readers take no lock and check that the value's generation did
// not change while they read its chunks.
#include <algorithm>
#include <bit>
#include <vector>

#include "base/hash.h"
#include "engine/record_cache_impl.h"
#include "index/pk_chunks.h"
#include "index/pk_list.h"

namespace larder {

using internal::CacheCore;

namespace {

// A list grows to this many keys before it is split, and a split value shrinks back into a
// list below kMergeBelow; chunks aim at kChunkTarget keys and are split further beyond
// kChunkMax (so one write copies at most about kChunkMax keys).
constexpr size_t kListMax = 128;
constexpr uint64_t kMergeBelow = 32;
constexpr size_t kChunkTarget = 32;
constexpr size_t kChunkMax = 128;
constexpr uint8_t kMaxBits = 24;

uint8_t BitsFor(uint64_t count) {
  const uint64_t chunks = std::max<uint64_t>(2, (count + kChunkTarget - 1) / kChunkTarget);
  return static_cast<uint8_t>(std::min<int>(kMaxBits, std::bit_width(chunks - 1)));
}

std::vector<std::string> KeysIn(std::string_view list) {
  std::vector<std::string> out;
  index::PkList::ForEach(list, [&](std::string_view k) {
    out.emplace_back(k);
    return true;
  });
  return out;
}

std::string ListOf(std::vector<std::string> keys) {
  std::sort(keys.begin(), keys.end());
  std::string out;
  for (const std::string& k : keys) out = index::PkList::With(out, k);
  return out;
}

}  // namespace

std::mutex& RecordCacheImpl::ValueStripe(const Index& index, std::string_view value_key) {
  return value_stripes_[(HashKey(value_key) + (&index - indexes.data())) % kValueStripes];
}

void RecordCacheImpl::LockAllValueStripes() {
  for (std::mutex& m : value_stripes_) m.lock();  // in order; writers hold at most one
}

void RecordCacheImpl::UnlockAllValueStripes() {
  for (std::mutex& m : value_stripes_) m.unlock();
}

std::vector<std::string> RecordCacheImpl::ChunkedKeys(const Index& index,
                                                      std::string_view value_key,
                                                      const index::ChunkDirectory& dir) {
  std::vector<std::string> keys;
  for (uint32_t j = 0; j < (uint32_t{1} << dir.bits); ++j) {
    ValueHandle chunk = index.chunks->FindStored(index::ChunkKey(dir.generation, j, value_key));
    if (!chunk) continue;
    index::PkList::ForEach(chunk.value(), [&](std::string_view k) {
      keys.emplace_back(k);
      return true;
    });
  }
  return keys;
}

index::ChunkDirectory RecordCacheImpl::WriteChunks(const Index& index,
                                                   std::string_view value_key,
                                                   const std::vector<std::string>& keys) {
  index::ChunkDirectory dir;
  dir.generation = chunk_generation_.fetch_add(1, std::memory_order_relaxed) + 1;
  dir.bits = BitsFor(keys.size());
  dir.count = keys.size();
  std::vector<std::vector<std::string>> parts(size_t{1} << dir.bits);
  for (const std::string& k : keys) parts[index::ChunkOf(k, dir.bits)].push_back(k);
  // The chunks go in before the directory that names them; the caller swaps the directory in,
  // then drops the old chunks: a reader sees the old partition or the new one (and notices a
  // change of generation).
  for (uint32_t j = 0; j < parts.size(); ++j) {
    if (parts[j].empty()) continue;
    (void)index.chunks->Put(index::ChunkKey(dir.generation, j, value_key), ListOf(parts[j]),
                            kNever, kNever);
  }
  return dir;
}

void RecordCacheImpl::DropChunks(const Index& index, std::string_view value_key,
                                 const index::ChunkDirectory& dir) {
  for (uint32_t j = 0; j < (uint32_t{1} << dir.bits); ++j) {
    index.chunks->Delete(index::ChunkKey(dir.generation, j, value_key));
  }
}

// Short lists change in one read-modify-write of the value's entry, without the stripe; a
// directory is changed only by the stripe's holder. Turning a list into a directory happens
// under the stripe too, and swaps the directory in only if the list is still the one the chunks
// were made from (a writer without the stripe may have changed it meanwhile).
void RecordCacheImpl::AddMultiSlot(const Index& index, std::string_view value_key,
                                   std::string_view pk_key) {
  bool slow = false;
  (void)index.store->Mutate(value_key, [&](const std::string_view* current) {
    CacheCore::MutateOp op;
    if (current != nullptr && index::DecodeDirectory(*current)) {
      slow = true;
      return op;
    }
    if (current != nullptr && index::PkList::Contains(*current, pk_key)) return op;
    std::string next =
        index::PkList::With(current != nullptr ? *current : std::string_view(), pk_key);
    if (index::PkList::Count(next) > kListMax) {
      slow = true;  // too long for one list
      return op;
    }
    op.kind = CacheCore::MutateOp::kPut;
    op.value = std::move(next);
    return op;
  });
  if (!slow) return;
  std::lock_guard lock(ValueStripe(index, value_key));
  for (;;) {
    ValueHandle head = index.store->FindStored(value_key);
    const std::string_view list = head ? head.value() : std::string_view();
    std::optional<index::ChunkDirectory> dir = index::DecodeDirectory(list);
    if (dir) {
      head = {};
      AddChunked(index, value_key, pk_key, *dir);
      return;
    }
    if (index::PkList::Contains(list, pk_key)) return;
    const std::string next = index::PkList::With(list, pk_key);
    const bool split = index::PkList::Count(next) > kListMax;
    std::optional<index::ChunkDirectory> made;
    if (split) made = WriteChunks(index, value_key, KeysIn(next));
    bool swapped = false;
    (void)index.store->Mutate(value_key, [&](const std::string_view* now) {
      CacheCore::MutateOp op;
      if ((now == nullptr) != !head || (now != nullptr && *now != list)) return op;  // changed
      op.kind = CacheCore::MutateOp::kPut;
      op.value = split ? index::EncodeDirectory(*made) : next;
      swapped = true;
      return op;
    });
    if (swapped) return;
    if (made) DropChunks(index, value_key, *made);
  }
}

void RecordCacheImpl::AddChunked(const Index& index, std::string_view value_key,
                                 std::string_view pk_key, index::ChunkDirectory dir) {
  const std::string chunk_key =
      index::ChunkKey(dir.generation, index::ChunkOf(pk_key, dir.bits), value_key);
  ValueHandle chunk = index.chunks->FindStored(chunk_key);
  const std::string_view current = chunk ? chunk.value() : std::string_view();
  if (index::PkList::Contains(current, pk_key)) return;
  std::string next = index::PkList::With(current, pk_key);
  chunk = {};
  ++dir.count;
  if (index::PkList::Count(next) > kChunkMax && dir.bits < kMaxBits) {
    std::vector<std::string> keys = ChunkedKeys(index, value_key, dir);
    keys.emplace_back(pk_key);
    const index::ChunkDirectory made = WriteChunks(index, value_key, keys);
    (void)index.store->Put(value_key, index::EncodeDirectory(made), kNever, kNever);
    DropChunks(index, value_key, dir);
    return;
  }
  (void)index.chunks->Put(chunk_key, next, kNever, kNever);
  (void)index.store->Put(value_key, index::EncodeDirectory(dir), kNever, kNever);
}

bool RecordCacheImpl::RemoveFromList(CacheCore& store, std::string_view value_key,
                                     std::string_view pk_key) {
  bool chunked = false;
  (void)store.Mutate(value_key, [&](const std::string_view* current) {
    CacheCore::MutateOp op;
    if (current == nullptr) return op;
    if (index::DecodeDirectory(*current)) {
      chunked = true;
      return op;
    }
    if (!index::PkList::Contains(*current, pk_key)) return op;
    std::string rest = index::PkList::Without(*current, pk_key);  // only this record's key
    if (rest.empty()) {
      op.kind = CacheCore::MutateOp::kDelete;
    } else {
      op.kind = CacheCore::MutateOp::kPut;
      op.value = std::move(rest);
    }
    return op;
  });
  return !chunked;
}

void RecordCacheImpl::RemoveMultiSlot(const Index& index, std::string_view value_key,
                                      std::string_view pk_key) {
  if (RemoveFromList(*index.store, value_key, pk_key)) return;
  std::lock_guard lock(ValueStripe(index, value_key));
  ValueHandle head = index.store->FindStored(value_key);
  std::optional<index::ChunkDirectory> dir =
      head ? index::DecodeDirectory(head.value()) : std::nullopt;
  head = {};
  if (!dir) {  // merged back into a list before we got the stripe (it stays one: we hold it)
    (void)RemoveFromList(*index.store, value_key, pk_key);
    return;
  }
  const std::string chunk_key =
      index::ChunkKey(dir->generation, index::ChunkOf(pk_key, dir->bits), value_key);
  ValueHandle chunk = index.chunks->FindStored(chunk_key);
  if (!chunk || !index::PkList::Contains(chunk.value(), pk_key)) return;
  std::string rest = index::PkList::Without(chunk.value(), pk_key);
  chunk = {};
  if (rest.empty()) {
    index.chunks->Delete(chunk_key);
  } else {
    (void)index.chunks->Put(chunk_key, rest, kNever, kNever);
  }
  --dir->count;
  if (dir->count < kMergeBelow) {  // small again: back to one list
    std::vector<std::string> keys = ChunkedKeys(index, value_key, *dir);
    if (keys.empty()) {
      index.store->Delete(value_key);
    } else {
      (void)index.store->Put(value_key, ListOf(std::move(keys)), kNever, kNever);
    }
    DropChunks(index, value_key, *dir);
    return;
  }
  (void)index.store->Put(value_key, index::EncodeDirectory(*dir), kNever, kNever);
}

void RecordCacheImpl::ForEachIndexed(const Index& index, std::string_view value_key,
                                     const std::function<void(ValueHandle)>& fn) {
  for (;;) {
    CacheCore::EntryState state;
    ValueHandle head = index.store->Find(value_key, &state);
    if (!head) return;
    const std::optional<index::ChunkDirectory> dir = index::DecodeDirectory(head.value());
    if (!dir) {
      fn(std::move(head));
      return;
    }
    head = {};
    std::vector<ValueHandle> chunks;
    for (uint32_t j = 0; j < (uint32_t{1} << dir->bits); ++j) {
      ValueHandle chunk = index.chunks->Find(index::ChunkKey(dir->generation, j, value_key), &state);
      if (chunk) chunks.push_back(std::move(chunk));
    }
    ValueHandle again = index.store->Find(value_key, &state);
    const std::optional<index::ChunkDirectory> now =
        again ? index::DecodeDirectory(again.value()) : std::nullopt;
    if (now && now->generation == dir->generation) {
      for (ValueHandle& chunk : chunks) fn(std::move(chunk));
      return;
    }
    // Split or merged while we read: read the new layout.
  }
}

}  // namespace larder
