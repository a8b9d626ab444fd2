// Hub: routing published messages to subscribers' queues and handing queues to dispatchers.
#include "pubsub_hub.h"

#include <string>
#include <utility>

namespace larder::coord {
namespace {

// Messages a subscriber is given per turn on a dispatcher thread before the next one's turn.
constexpr size_t kTurn = 64;

// The Hub whose dispatcher this thread is, so Flush can refuse to wait for itself.
thread_local const Hub* tls_dispatching_for = nullptr;

}  // namespace

void Hub::Register(std::shared_ptr<Subscriber> s, std::optional<index::GlobPattern> glob) {
  if (glob.has_value()) {
    std::lock_guard lock(patterns_mu_);
    patterns_.push_back(Pattern{std::move(*glob), std::move(s)});
    return;
  }
  const std::string& channel = s->name();
  channels_.With(channel, [&](auto& map, size_t&) { map[channel].push_back(std::move(s)); });
}

void Hub::Unregister(const Subscriber* s) noexcept {
  if (s->is_pattern()) {
    std::lock_guard lock(patterns_mu_);
    std::erase_if(patterns_, [&](const Pattern& p) { return p.subscriber.get() == s; });
    return;
  }
  channels_.With(s->name(), [&](auto& map, size_t&) {
    auto it = map.find(s->name());
    if (it == map.end()) return;
    std::erase_if(it->second, [&](const auto& held) { return held.get() == s; });
    if (it->second.empty()) map.erase(it);
  });
}

Hub::Subscribers Hub::OfChannel(std::string_view channel) {
  Subscribers matched;
  channels_.With(channel, [&](auto& map, size_t&) {
    if (auto it = map.find(channel); it != map.end()) matched = it->second;
  });
  return matched;
}

uint64_t Hub::Publish(std::string_view channel, std::string_view payload) {
  Subscribers matched = OfChannel(channel);
  {
    std::lock_guard lock(patterns_mu_);
    for (const Pattern& p : patterns_) {
      if (p.glob.Match(channel)) matched.push_back(p.subscriber);
    }
  }
  return Queue(std::move(matched), channel, payload);
}

uint64_t Hub::PublishToChannel(std::string_view channel, std::string_view payload) {
  return Queue(OfChannel(channel), channel, payload);
}

uint64_t Hub::PublishToPattern(std::string_view pattern, std::string_view channel,
                               std::string_view payload) {
  Subscribers matched;
  {
    std::lock_guard lock(patterns_mu_);
    for (const Pattern& p : patterns_) {
      if (p.subscriber->name() == pattern) matched.push_back(p.subscriber);
    }
  }
  return Queue(std::move(matched), channel, payload);
}

uint64_t Hub::Queue(Subscribers matched, std::string_view channel, std::string_view payload) {
  if (matched.empty()) return 0;
  auto message =
      std::make_shared<const Envelope>(Envelope{std::string(channel), std::string(payload)});
  uint64_t queued = 0;
  for (std::shared_ptr<Subscriber>& s : matched) {
    bool schedule = false;
    if (s->Enqueue(message, &schedule)) ++queued;
    if (schedule) Schedule(std::move(s));
  }
  return queued;
}

Hub::Subscribers Hub::All() {
  Subscribers all;
  channels_.ForEachStripe([&](auto& map, size_t&) {
    for (const auto& [channel, subs] : map) all.insert(all.end(), subs.begin(), subs.end());
  });
  std::lock_guard lock(patterns_mu_);
  for (const Pattern& p : patterns_) all.push_back(p.subscriber);
  return all;
}

bool Hub::InDispatcher() const noexcept { return tls_dispatching_for == this; }

Status Hub::Flush() {
  if (InDispatcher()) {
    return Status::FailedPrecondition("Flush: called from a handler, it would wait for itself");
  }
  const Subscribers all = All();
  // Every target is read before any wait, so messages queued during the waits are not awaited.
  std::vector<uint64_t> targets;
  targets.reserve(all.size());
  for (const auto& s : all) targets.push_back(s->last_queued());
  for (size_t i = 0; i < all.size(); ++i) all[i]->WaitDone(targets[i]);
  return Status::OK();
}

void Hub::Schedule(std::shared_ptr<Subscriber> s) {
  {
    std::lock_guard lock(ready_mu_);
    if (stopping_) return;
    ready_.push_back(std::move(s));
  }
  ready_cv_.notify_one();
}

void Hub::Dispatch() {
  tls_dispatching_for = this;
  for (;;) {
    std::shared_ptr<Subscriber> s;
    {
      std::unique_lock lock(ready_mu_);
      ready_cv_.wait(lock, [&] { return stopping_ || !ready_.empty(); });
      if (stopping_) break;
      s = std::move(ready_.front());
      ready_.pop_front();
    }
    if (s->DeliverSome(kTurn)) Schedule(std::move(s));
  }
  tls_dispatching_for = nullptr;
}

void Hub::Stop() {
  for (const auto& s : All()) s->Discard();
  channels_.ForEachStripe([](auto& map, size_t&) { map.clear(); });
  {
    std::lock_guard lock(patterns_mu_);
    patterns_.clear();
  }
  {
    std::lock_guard lock(ready_mu_);
    stopping_ = true;
    ready_.clear();
  }
  ready_cv_.notify_all();
}

}  // namespace larder::coord
