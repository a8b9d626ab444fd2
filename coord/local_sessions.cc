// In-process sessions: sliding expiry, a per-user index, lazy removal of expired sessions.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "larder/coord.h"
#include "random_token.h"
#include "striped_map.h"

namespace larder {
namespace {

constexpr size_t kSweepEvery = 1024;  // least operations on a stripe between sweeps

struct Entry {
  std::string user_id;
  std::string data;
  int64_t ttl = 0;       // ns
  int64_t deadline = 0;  // expired once now >= deadline
  uint64_t order = 0;    // creation order, for listing oldest first
};

using SessionIds = std::unordered_set<std::string, coord::StringHash, std::equal_to<>>;

// An expired or destroyed session still named in its user's index.
struct Unlinked {
  std::string user_id;
  std::string id;
};

int64_t Deadline(int64_t now, int64_t ttl) {
  return ttl > std::numeric_limits<int64_t>::max() - now ? std::numeric_limits<int64_t>::max()
                                                         : now + ttl;
}

// Lock order: a user stripe, then a session stripe. Paths that start from a session id release
// the session stripe before touching the user index (Unlink), so no cycle is possible.
class LocalSessionStore final : public SessionStore {
 public:
  explicit LocalSessionStore(std::shared_ptr<Clock> clock)
      : clock_(clock != nullptr ? std::move(clock) : SystemClock()) {}

  Result<std::string> CreateSession(std::string_view user_id, std::string_view data,
                                    Duration ttl) override {
    if (Status s = CheckUser(user_id); !s.ok()) return s;
    if (ttl.count() <= 0) {
      return Status::InvalidArgument(fmt::format("ttl: must be positive, got {} ns", ttl.count()));
    }
    Result<std::string> id = coord::NewRandomToken();
    if (!id.ok()) return id.status();
    const int64_t now = clock_->NowNanos();
    std::vector<Unlinked> dead;
    users_.With(user_id, [&](auto& users, size_t&) {
      sessions_.With(*id, [&](auto& map, size_t& ops) {
        Sweep(map, ops, now, &dead);
        map[*id] = Entry{std::string(user_id), std::string(data), ttl.count(),
                         Deadline(now, ttl.count()), next_order_.fetch_add(1)};
      });
      users[std::string(user_id)].insert(*id);
    });
    Unlink(dead);
    return id;
  }

  Result<std::optional<Session>> GetSession(std::string_view session_id) override {
    std::optional<Session> out;
    Use(session_id, [&](Entry& e, int64_t now) {
      e.deadline = Deadline(now, e.ttl);
      out = Session{std::string(session_id), e.user_id, e.data, Duration(e.ttl)};
    });
    return out;
  }

  Result<bool> TouchSession(std::string_view session_id) override {
    return Use(session_id, [](Entry& e, int64_t now) { e.deadline = Deadline(now, e.ttl); });
  }

  Result<bool> DestroySession(std::string_view session_id) override {
    const int64_t now = clock_->NowNanos();
    std::vector<Unlinked> dead;
    const bool live = sessions_.With(session_id, [&](auto& map, size_t& ops) {
      Sweep(map, ops, now, &dead);
      auto it = map.find(session_id);
      if (it == map.end()) return false;
      const bool was_live = now < it->second.deadline;
      dead.push_back({std::move(it->second.user_id), std::string(session_id)});
      map.erase(it);
      return was_live;
    });
    Unlink(dead);
    return live;
  }

  Result<std::vector<Session>> ListUserSessions(std::string_view user_id) override {
    if (Status s = CheckUser(user_id); !s.ok()) return s;
    const int64_t now = clock_->NowNanos();
    std::vector<std::pair<uint64_t, Session>> found;
    users_.With(user_id, [&](auto& users, size_t&) {
      auto u = users.find(user_id);
      if (u == users.end()) return;
      // Drops the index's expired and dangling ids as it goes: listing is the per-user cleanup.
      std::erase_if(u->second, [&](const std::string& id) {
        return sessions_.With(id, [&](auto& map, size_t&) {
          auto it = map.find(id);
          if (it == map.end()) return true;
          if (now >= it->second.deadline) {
            map.erase(it);
            return true;
          }
          found.emplace_back(it->second.order, Session{id, it->second.user_id, it->second.data,
                                                       Duration(it->second.deadline - now)});
          return false;
        });
      });
      if (u->second.empty()) users.erase(u);
    });
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Session> out;
    out.reserve(found.size());
    for (auto& f : found) out.push_back(std::move(f.second));
    return out;
  }

  Result<uint64_t> DestroyUserSessions(std::string_view user_id) override {
    if (Status s = CheckUser(user_id); !s.ok()) return s;
    const int64_t now = clock_->NowNanos();
    uint64_t live = 0;
    users_.With(user_id, [&](auto& users, size_t&) {
      auto u = users.find(user_id);
      if (u == users.end()) return;
      for (const std::string& id : u->second) {
        sessions_.With(id, [&](auto& map, size_t&) {
          auto it = map.find(id);
          if (it == map.end()) return;
          if (now < it->second.deadline) ++live;
          map.erase(it);
        });
      }
      users.erase(u);
    });
    return live;
  }

  Result<uint64_t> ApproximateSize() override {
    uint64_t n = 0;
    sessions_.ForEachStripe([&](auto& map, size_t&) { n += map.size(); });
    return n;
  }

 private:
  static Status CheckUser(std::string_view user_id) {
    if (!user_id.empty()) return Status::OK();
    return Status::InvalidArgument("user_id: must not be empty");
  }

  // Runs fn(entry, now) on a live session; false when there is none. Drops an expired one met.
  template <typename Fn>
  bool Use(std::string_view session_id, Fn&& fn) {
    const int64_t now = clock_->NowNanos();
    std::vector<Unlinked> dead;
    const bool live = sessions_.With(session_id, [&](auto& map, size_t& ops) {
      Sweep(map, ops, now, &dead);
      auto it = map.find(session_id);
      if (it == map.end()) return false;
      if (now >= it->second.deadline) {
        dead.push_back({std::move(it->second.user_id), std::string(session_id)});
        map.erase(it);
        return false;
      }
      fn(it->second, now);
      return true;
    });
    Unlink(dead);
    return live;
  }

  // Drops a stripe's expired sessions once it has seen as many operations as it holds sessions
  // (at least kSweepEvery): O(1) amortized per operation, and a stripe holds at most about twice
  // its live sessions.
  static void Sweep(coord::StripedMap<Entry>::Map& map, size_t& ops, int64_t now,
                    std::vector<Unlinked>* dead) {
    if (++ops < std::max(kSweepEvery, map.size())) return;
    ops = 0;
    std::erase_if(map, [&](auto& kv) {
      if (now < kv.second.deadline) return false;
      dead->push_back({std::move(kv.second.user_id), kv.first});
      return true;
    });
  }

  // Removes dropped sessions from their users' index. REQUIRES: no stripe lock held.
  void Unlink(const std::vector<Unlinked>& dead) {
    for (const Unlinked& d : dead) {
      users_.With(d.user_id, [&](auto& users, size_t&) {
        auto u = users.find(d.user_id);
        if (u == users.end()) return;
        u->second.erase(d.id);
        if (u->second.empty()) users.erase(u);
      });
    }
  }

  const std::shared_ptr<Clock> clock_;
  std::atomic<uint64_t> next_order_{0};
  coord::StripedMap<Entry> sessions_;    // session id -> session
  coord::StripedMap<SessionIds> users_;  // user id -> ids of its sessions (may name dropped ones)
};

}  // namespace

std::unique_ptr<SessionStore> NewLocalSessionStore(std::shared_ptr<Clock> clock) {
  return std::make_unique<LocalSessionStore>(std::move(clock));
}

}  // namespace larder
