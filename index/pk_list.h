// PkList: the primary keys a secondary-index value maps to, as one immutable byte string
// (the value of an index entry). Encoded keys, each prefixed by a 2-byte length, kept sorted and
// unique so that adding and removing are idempotent: removing a record removes exactly its own
// key and never another record's.
#pragma once

#include "base/private.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace larder::index {

class PkList {
 public:
  // Calls fn(std::string_view encoded_pk) for each key, in order; stops early when fn returns
  // false. Tolerates a malformed list by stopping.
  template <typename Fn>
  static void ForEach(std::string_view list, Fn&& fn) {
    size_t p = 0;
    while (p + 2 <= list.size()) {
      uint16_t n;
      std::memcpy(&n, list.data() + p, 2);
      if (p + 2 + n > list.size()) return;
      if (!fn(list.substr(p + 2, n))) return;
      p += 2 + n;
    }
  }
  static size_t Count(std::string_view list) {
    size_t n = 0;
    ForEach(list, [&](std::string_view) { return ++n, true; });
    return n;
  }
  static bool Contains(std::string_view list, std::string_view pk) {
    bool found = false;
    ForEach(list, [&](std::string_view k) { return !(found = (k == pk)); });
    return found;
  }
  // `list` with `pk` added (unchanged when present). REQUIRES: pk.size() < 65536.
  static std::string With(std::string_view list, std::string_view pk) {
    std::string out;
    out.reserve(list.size() + 2 + pk.size());
    bool placed = false;
    ForEach(list, [&](std::string_view k) {
      if (!placed && pk <= k) {
        if (pk != k) Append(&out, pk);
        placed = true;
      }
      Append(&out, k);
      return true;
    });
    if (!placed) Append(&out, pk);
    return out;
  }
  // `list` without `pk` (unchanged when absent).
  static std::string Without(std::string_view list, std::string_view pk) {
    std::string out;
    out.reserve(list.size());
    ForEach(list, [&](std::string_view k) {
      if (k != pk) Append(&out, k);
      return true;
    });
    return out;
  }
  static std::string Of(std::string_view pk) {
    std::string out;
    Append(&out, pk);
    return out;
  }

 private:
  static void Append(std::string* out, std::string_view k) {
    const uint16_t n = static_cast<uint16_t>(k.size());
    out->append(reinterpret_cast<const char*>(&n), 2);
    out->append(k);
  }
};

}  // namespace larder::index
