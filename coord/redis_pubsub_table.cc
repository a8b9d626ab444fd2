// RedisPubSubTable: reference counts, commands to send, and replies received.
#include "redis_pubsub_table.h"

#include <iterator>
#include <utility>

namespace larder::coord {

bool RedisPubSubTable::Changes::empty() const noexcept { return replies() == 0; }

size_t RedisPubSubTable::Changes::replies() const noexcept {
  size_t n = 0;
  for (const auto& names : subscribe) n += names.size();
  for (const auto& names : unsubscribe) n += names.size();
  return n;
}

template <typename Fn>
void RedisPubSubTable::Update(Map& map, Map::iterator it, Fn&& fn) noexcept {
  const bool was_lagging = Lagging(it->second);
  fn(it->second);
  const bool lagging = Lagging(it->second);
  if (was_lagging != lagging) lagging ? ++not_active_ : --not_active_;
  if (Idle(it->second)) map.erase(it);
}

void RedisPubSubTable::Ref(SubscriptionKind kind, std::string_view name) {
  Map& map = maps_[static_cast<size_t>(kind)];
  auto it = map.find(name);
  if (it == map.end()) it = map.emplace(std::string(name), Entry{}).first;
  Update(map, it, [](Entry& e) { ++e.refs; });
}

void RedisPubSubTable::Unref(SubscriptionKind kind, std::string_view name) noexcept {
  Map& map = maps_[static_cast<size_t>(kind)];
  auto it = map.find(name);
  if (it == map.end() || it->second.refs == 0) return;  // not referenced: nothing to undo
  Update(map, it, [](Entry& e) { --e.refs; });
}

bool RedisPubSubTable::Active(SubscriptionKind kind, std::string_view name) const noexcept {
  const Map& map = maps_[static_cast<size_t>(kind)];
  auto it = map.find(name);
  return it != map.end() && it->second.sent && it->second.unanswered == 0;
}

RedisPubSubTable::Changes RedisPubSubTable::TakeChanges() {
  Changes out;
  for (size_t k = 0; k < maps_.size(); ++k) {
    Map& map = maps_[k];
    for (auto it = map.begin(); it != map.end();) {
      auto next = std::next(it);
      const Entry& e = it->second;
      if (e.refs > 0 && !e.sent) {
        out.subscribe[k].push_back(it->first);
        Update(map, it, [](Entry& x) {
          x.sent = true;
          ++x.unanswered;
        });
      } else if (e.refs == 0 && e.sent) {
        out.unsubscribe[k].push_back(it->first);
        Update(map, it, [](Entry& x) {
          x.sent = false;
          ++x.unanswered;
        });
      }
      it = next;
    }
  }
  return out;
}

bool RedisPubSubTable::Ack(SubscriptionKind kind, std::string_view name) noexcept {
  Map& map = maps_[static_cast<size_t>(kind)];
  auto it = map.find(name);
  if (it == map.end() || it->second.unanswered == 0) return false;
  Update(map, it, [](Entry& e) { --e.unanswered; });
  return true;
}

void RedisPubSubTable::Reset() noexcept {
  not_active_ = 0;
  for (Map& map : maps_) {
    std::erase_if(map, [](const auto& kv) { return kv.second.refs == 0; });
    for (auto& [name, e] : map) {
      e.sent = false;
      e.unanswered = 0;
      ++not_active_;  // wanted (refs > 0) and not subscribed on the new connection
    }
  }
}

}  // namespace larder::coord
