// In-process locks with unguessable tokens and expiry.
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "larder/coord.h"
#include "random_token.h"
#include "striped_map.h"

namespace larder {
namespace {

struct Held {
  std::string token;
  int64_t deadline = 0;
};

class LocalLockService final : public LockService {
 public:
  explicit LocalLockService(std::shared_ptr<Clock> clock)
      : clock_(clock != nullptr ? std::move(clock) : SystemClock()) {}

  Result<std::optional<std::string>> AcquireLock(std::string_view key, Duration ttl) override {
    Status s = CheckTtl(ttl);
    if (!s.ok()) return s;
    Result<std::string> token = coord::NewRandomToken();
    if (!token.ok()) return token.status();
    const int64_t now = clock_->NowNanos();
    return locks_.With(key, [&](auto& map, size_t&) -> std::optional<std::string> {
      auto it = map.find(key);
      if (it != map.end() && now < it->second.deadline) return std::nullopt;
      Held& h = map[std::string(key)];
      h.token = *token;
      h.deadline = now + ttl.count();
      return h.token;
    });
  }

  Result<bool> ReleaseLock(std::string_view key, std::string_view token) override {
    const int64_t now = clock_->NowNanos();
    return locks_.With(key, [&](auto& map, size_t&) {
      auto it = map.find(key);
      if (it == map.end()) return false;
      const bool expired = now >= it->second.deadline;
      const bool mine = it->second.token == token;
      if (expired || mine) map.erase(it);  // an expired lock is free whoever asks
      return mine && !expired;
    });
  }

  Result<bool> ExtendLock(std::string_view key, std::string_view token, Duration ttl) override {
    Status s = CheckTtl(ttl);
    if (!s.ok()) return s;
    const int64_t now = clock_->NowNanos();
    return locks_.With(key, [&](auto& map, size_t&) {
      auto it = map.find(key);
      if (it == map.end() || it->second.token != token || now >= it->second.deadline) return false;
      it->second.deadline = now + ttl.count();
      return true;
    });
  }

 private:
  static Status CheckTtl(Duration ttl) {
    if (ttl.count() > 0) return Status::OK();
    return Status::InvalidArgument(fmt::format("ttl: must be positive, got {} ns", ttl.count()));
  }

  const std::shared_ptr<Clock> clock_;
  coord::StripedMap<Held> locks_;
};

}  // namespace

std::unique_ptr<LockService> NewLocalLockService(std::shared_ptr<Clock> clock) {
  return std::make_unique<LocalLockService>(std::move(clock));
}

}  // namespace larder
