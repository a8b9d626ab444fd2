// StripedMap: a string-keyed map split into lock stripes, for the in-process coord primitives.
#pragma once

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace larder::coord {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

template <typename V>
class StripedMap {
 public:
  static constexpr size_t kStripes = 16;
  using Map = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  // Runs fn(map) under the lock of the stripe that holds `key`.
  template <typename Fn>
  auto With(std::string_view key, Fn&& fn) {
    Stripe& s = stripes_[StringHash{}(key) % kStripes];
    std::lock_guard lock(s.mu);
    return fn(s.map, s.ops);
  }

  // Runs fn(map, ops) under each stripe's lock in turn (never two locks at once).
  template <typename Fn>
  void ForEachStripe(Fn&& fn) {
    for (Stripe& s : stripes_) {
      std::lock_guard lock(s.mu);
      fn(s.map, s.ops);
    }
  }

 private:
  struct Stripe {
    std::mutex mu;
    Map map;
    size_t ops = 0;  // operations since the stripe was last swept
  };
  std::array<Stripe, kStripes> stripes_;
};

}  // namespace larder::coord
