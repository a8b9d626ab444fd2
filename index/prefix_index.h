// PrefixIndex: one shard's keys in byte order, so the keys under a literal prefix are found
// without visiting the others (pattern invalidation of `companies:list:*`).
//
// The index holds views of keys it does not own: the owner (a shard) inserts a key when its
// entry enters the table, re-points it when a new entry replaces the old one, and erases it
// before the entry's memory can be freed. Insert returns a handle the owner keeps (in the
// entry) so that Replace and Erase need no search. Nodes carry the key's first 16 bytes, so
// most comparisons during a search do not touch the key itself.
// Cost: a tree node per key (80 bytes with the allocator's rounding); insert O(log n);
// replace and erase O(1) amortized; a prefix visit O(log n + keys under the prefix).
//
// Thread safety: none; the owner serializes every call (the shard lock).
#pragma once

#include "base/private.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <string_view>
#include <type_traits>

namespace larder::index {

class PrefixIndex {
  // The first 16 bytes, zero-padded, as two big-endian words: when two heads differ they order
  // the keys as the full comparison would; equal heads fall back to it.
  struct HeadBytes {
    uint64_t hi = 0, lo = 0;
    auto operator<=>(const HeadBytes&) const = default;
  };
  static HeadBytes Head(std::string_view key) noexcept {
    unsigned char b[16] = {};
    std::memcpy(b, key.data(), key.size() < 16 ? key.size() : 16);
    HeadBytes h;
    for (int i = 0; i < 8; ++i) h.hi = h.hi << 8 | b[i];
    for (int i = 8; i < 16; ++i) h.lo = h.lo << 8 | b[i];
    return h;
  }
  struct Item {
    HeadBytes head;
    mutable std::string_view key;
    mutable uint32_t id;
  };
  struct Probe {
    HeadBytes head;
    std::string_view key;
  };
  struct Less {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept {
      if (a.head != b.head) return a.head < b.head;
      return a.key < b.key;
    }
  };

 public:
  using Handle = std::set<Item, Less>::const_iterator;
  static_assert(std::is_trivially_copyable_v<Handle> && sizeof(Handle) == 8,
                "handles are stored in entries as 8 bytes");

  // Adds `key` (not present) stored in entry `id`; `key` must stay valid until erased or
  // replaced. Returns the handle for Replace and Erase.
  Handle Insert(std::string_view key, uint32_t id) {
    return items_.insert(Item{Head(key), key, id}).first;
  }
  // Points the key of `h` at a new copy of the same bytes, in entry `id`; `h` stays valid.
  static void Replace(Handle h, std::string_view key, uint32_t id) noexcept {
    h->key = key;  // equal bytes: the order is unchanged
    h->id = id;
  }
  void Erase(Handle h) { items_.erase(h); }
  void Clear() { items_.clear(); }
  size_t size() const noexcept { return items_.size(); }

  // Calls fn(std::string_view key, uint32_t id) for each key starting with `prefix`, in order.
  // fn must not change the index.
  template <typename Fn>
  void ForEachWithPrefix(std::string_view prefix, Fn&& fn) const {
    for (auto it = items_.lower_bound(Probe{Head(prefix), prefix}); it != items_.end(); ++it) {
      if (it->key.substr(0, prefix.size()) != prefix) break;
      fn(it->key, it->id);
    }
  }

 private:
  std::set<Item, Less> items_;
};

}  // namespace larder::index
