// RedisNamespace: counters, SCAN-and-UNLINK removal, and distrust until emptied.
#include "redis_namespace.h"

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace larder::coord {

std::string GlobEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

namespace {
std::string RandomTokenPrefix() {
  std::random_device device;
  return fmt::format("{:08x}{:08x}:", device(), device());
}
}  // namespace

RedisNamespace::RedisNamespace(std::unique_ptr<RedisPool> pool, std::string ns)
    : pool_(std::move(pool)), ns_(std::move(ns)), token_prefix_(RandomTokenPrefix()) {}

void RedisNamespace::CountWrite(Result<RedisReplyPtr> reply) {
  if (!reply.ok()) {
    (void)Check(std::move(reply));
  } else if ((*reply)->type == REDIS_REPLY_INTEGER && (*reply)->integer == 1) {
    writes.fetch_add(1, std::memory_order_relaxed);
  } else {
    refused.fetch_add(1, std::memory_order_relaxed);
  }
}

Status RedisNamespace::Check(Result<RedisReplyPtr> reply) {
  if (reply.ok()) return Status::OK();
  errors.fetch_add(1, std::memory_order_relaxed);
  return reply.status();
}

bool RedisNamespace::Usable() {
  if (trusted_.load(std::memory_order_acquire)) return true;
  std::unique_lock lock(restore_mu_, std::try_to_lock);
  if (lock.owns_lock() && !trusted_.load(std::memory_order_acquire)) {
    // Outdated values may be left: empty the whole namespace before trusting it again.
    if (ScanUnlink(GlobEscape(ns_) + "*").ok()) trusted_.store(true, std::memory_order_release);
  }
  if (trusted_.load(std::memory_order_acquire)) return true;
  bypassed.fetch_add(1, std::memory_order_relaxed);
  return false;
}

Status RedisNamespace::Unlink(std::string_view key) {
  return pool_->With([&](RedisConnection& c) { return Check(c.Command({"UNLINK", key})); });
}

Status RedisNamespace::ScanUnlink(const std::string& match) {
  return pool_->With([&](RedisConnection& c) -> Status {
    std::string cursor = "0";
    do {
      Result<RedisReplyPtr> r = c.Command({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
      if (!r.ok()) return Check(std::move(r));
      const redisReply& reply = **r;
      if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 2 ||
          reply.element[1]->type != REDIS_REPLY_ARRAY) {
        errors.fetch_add(1, std::memory_order_relaxed);
        return Status::Internal(fmt::format("redis {}: SCAN: unexpected reply", c.server()));
      }
      cursor.assign(reply.element[0]->str, reply.element[0]->len);
      const redisReply& keys = *reply.element[1];
      if (keys.elements == 0) continue;
      std::vector<std::string_view> args{"UNLINK"};
      for (size_t i = 0; i < keys.elements; ++i) {
        args.emplace_back(keys.element[i]->str, keys.element[i]->len);
      }
      Status s = Check(c.Command(args));
      if (!s.ok()) return s;
    } while (cursor != "0");
    return Status::OK();
  });
}

RedisL2Stats RedisNamespace::Stats() const {
  RedisL2Stats s;
  s.hits = hits.load(std::memory_order_relaxed);
  s.misses = misses.load(std::memory_order_relaxed);
  s.writes = writes.load(std::memory_order_relaxed);
  s.removals = removals.load(std::memory_order_relaxed);
  s.errors = errors.load(std::memory_order_relaxed);
  s.bypassed = bypassed.load(std::memory_order_relaxed);
  s.refused = refused.load(std::memory_order_relaxed);
  s.trusted = trusted_.load(std::memory_order_acquire);
  return s;
}

}  // namespace larder::coord
