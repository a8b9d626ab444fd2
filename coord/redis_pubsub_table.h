// RedisPubSubTable: what a Redis subscriber connection must be subscribed to (the union of the
// local subscriptions, counted) and how far the server has confirmed it.
//
// Thread safety: none; the owner (redis_pubsub_listener.h) holds its lock around every call.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "striped_map.h"

namespace larder::coord {

enum class SubscriptionKind : uint8_t { kChannel = 0, kPattern = 1 };

// Each name (a channel, or a pattern: two namespaces, as in Redis) has a count of local
// subscriptions wanting it, whether the last command sent for it on this connection was a
// SUBSCRIBE, and how many commands sent for it still await their reply. The server answers every
// name of a (P)SUBSCRIBE or (P)UNSUBSCRIBE with one reply, in order, so a name is subscribed in
// Redis exactly when its last command was a SUBSCRIBE and nothing is unanswered ("active").
class RedisPubSubTable {
 public:
  // Commands to send, one name list per command; the server sends one reply per name.
  struct Changes {
    std::array<std::vector<std::string>, 2> subscribe;    // by SubscriptionKind
    std::array<std::vector<std::string>, 2> unsubscribe;  // by SubscriptionKind
    bool empty() const noexcept;
    size_t replies() const noexcept;
  };

  void Ref(SubscriptionKind kind, std::string_view name);
  // REQUIRES: `name` was referenced at least as often.
  void Unref(SubscriptionKind kind, std::string_view name) noexcept;
  bool Active(SubscriptionKind kind, std::string_view name) const noexcept;
  // Every wanted name is active.
  bool AllActive() const noexcept { return not_active_ == 0; }
  // What must be sent to make Redis match the counts; marks it sent.
  Changes TakeChanges();
  // A (p)subscribe or (p)unsubscribe reply for `name`. False when no command for it awaited
  // one: the server and this table disagree.
  bool Ack(SubscriptionKind kind, std::string_view name) noexcept;
  // A new connection: nothing is subscribed or awaited.
  void Reset() noexcept;

 private:
  struct Entry {
    size_t refs = 0;          // local subscriptions wanting the name
    bool sent = false;        // the last command sent for it was a SUBSCRIBE
    uint32_t unanswered = 0;  // commands sent for it without their reply yet
  };
  using Map = std::unordered_map<std::string, Entry, StringHash, std::equal_to<>>;

  static bool Lagging(const Entry& e) noexcept {
    return e.refs > 0 && !(e.sent && e.unanswered == 0);
  }
  static bool Idle(const Entry& e) noexcept { return e.refs == 0 && !e.sent && e.unanswered == 0; }
  // Applies fn(entry), keeping not_active_ right and erasing an entry left with nothing to do.
  template <typename Fn>
  void Update(Map& map, Map::iterator it, Fn&& fn) noexcept;

  std::array<Map, 2> maps_;  // by SubscriptionKind
  size_t not_active_ = 0;    // entries wanted but not active
};

}  // namespace larder::coord
