// Backplane: local invalidations out (in order, from one sender thread), other instances'
// invalidations in (applied inside a RemoteScope so they do not travel back), gaps and
// reconnections answered by a resync.
#include "larder/backplane.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "backplane_message.h"
#include "random_token.h"

namespace larder {

namespace {

// Messages waiting for the sender thread; beyond this, new ones are dropped (and counted as
// failed publishes: the gap makes the others resync) rather than growing without bound while
// the bus is down.
constexpr size_t kMaxQueued = 100'000;

}  // namespace

struct Backplane::Impl {
  Impl(Cache& c, PubSub& b, BackplaneOptions o, std::string publisher)
      : cache(c), bus(b), options(std::move(o)), id(std::move(publisher)),
        channel(options.channel_prefix + options.name) {}

  // ---- Out ----

  void OnLocalEvent(const CacheEvent& ev) {
    if (ev.remote) return;  // another instance's change, being applied here
    switch (ev.type) {
      case EventType::kSet:
        if (!ev.loaded) Enqueue(coord::BackplaneKind::kKey, ev.key);
        return;
      case EventType::kDelete:
        // Removals by pattern or tag travel as the pattern or tag (kInvalidated).
        if (ev.scope == InvalidationScope::kKey) Enqueue(coord::BackplaneKind::kKey, ev.key);
        return;
      case EventType::kInvalidated:
        Enqueue(ev.scope == InvalidationScope::kTag ? coord::BackplaneKind::kTag
                                                    : coord::BackplaneKind::kPattern,
                ev.key);
        return;
      case EventType::kClear:
        Enqueue(coord::BackplaneKind::kClear, {});
        return;
      default:
        return;
    }
  }

  void Enqueue(coord::BackplaneKind kind, std::string_view payload) {
    std::lock_guard lock(out_mu);
    const uint64_t sequence = ++last_sequence;
    if (drop_next > 0) {
      --drop_next;
      return;
    }
    if (queue.size() >= kMaxQueued) {
      std::lock_guard s(stats_mu);
      ++stats.publish_failures;
      return;
    }
    queue.push_back(coord::EncodeBackplaneMessage(id, sequence, kind, payload));
    out_cv.notify_one();
  }

  void SendLoop() {
    std::unique_lock lock(out_mu);
    for (;;) {
      out_cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (queue.empty()) return;  // stopping, nothing left
      std::string message = std::move(queue.front());
      queue.pop_front();
      ++sending;
      lock.unlock();
      const Result<uint64_t> sent = bus.Publish(channel, message);
      {
        std::lock_guard s(stats_mu);
        ++(sent.ok() ? stats.published : stats.publish_failures);
      }
      lock.lock();
      --sending;
      if (queue.empty()) idle_cv.notify_all();
    }
  }

  void WaitSent() {
    std::unique_lock lock(out_mu);
    idle_cv.wait(lock, [&] { return queue.empty() && sending == 0; });
  }

  // ---- In ----

  void OnMessage(const PubSubMessage& m) {
    const std::optional<coord::BackplaneMessage> msg = coord::DecodeBackplaneMessage(m.payload);
    if (!msg) {
      std::lock_guard s(stats_mu);
      ++stats.malformed;
      return;
    }
    if (msg->publisher == id) {
      std::lock_guard s(stats_mu);
      ++stats.own_ignored;
      return;
    }
    bool gap = false;
    {
      std::lock_guard s(stats_mu);
      ++stats.received;
      auto [it, first] = last_seen.try_emplace(std::string(msg->publisher), msg->sequence);
      if (!first) {
        gap = msg->sequence > it->second + 1;
        if (msg->sequence > it->second) it->second = msg->sequence;
      }
      if (gap) ++stats.gaps;
    }
    Apply(*msg);
    if (gap) Resync(ResyncReason::kGap);
  }

  void Apply(const coord::BackplaneMessage& msg) {
    {
      // Counted first: whoever sees the effect (an event) sees the count too.
      std::lock_guard s(stats_mu);
      ++stats.applied;
    }
    RemoteScope remote;
    switch (msg.kind) {
      case coord::BackplaneKind::kKey:
        cache.Delete(msg.payload);
        break;
      case coord::BackplaneKind::kPattern:
        (void)cache.InvalidatePattern(msg.payload);  // a malformed one never left its sender
        break;
      case coord::BackplaneKind::kTag:
        cache.InvalidateByTag(msg.payload);
        break;
      case coord::BackplaneKind::kClear:
        cache.Clear();
        break;
    }
  }

  void Resync(ResyncReason reason) {
    {
      RemoteScope remote;  // local repair: nothing to tell the others
      if (options.resync == ResyncMode::kClear) {
        cache.Clear();
      } else {
        cache.MarkAllStale();
      }
    }
    {
      std::lock_guard s(stats_mu);
      ++stats.resyncs;
    }
    if (options.on_resync) options.on_resync(reason);
  }

  void OnConnectionChange(bool connected) {
    bool lost_and_back = false;
    {
      std::lock_guard s(stats_mu);
      if (!connected && stats.connected) ++stats.disconnects;
      lost_and_back = connected && !stats.connected;
      stats.connected = connected;
      // What was missed is repaired by the resync; counting starts again from what comes next.
      if (lost_and_back) last_seen.clear();
    }
    if (lost_and_back) Resync(ResyncReason::kReconnected);
  }

  Cache& cache;
  PubSub& bus;
  const BackplaneOptions options;
  const std::string id;
  const std::string channel;

  std::mutex out_mu;
  std::condition_variable out_cv;
  std::condition_variable idle_cv;
  std::deque<std::string> queue;  // encoded, in sequence order
  uint64_t last_sequence = 0;
  uint64_t drop_next = 0;
  int sending = 0;
  bool stopping = false;
  std::thread sender;

  mutable std::mutex stats_mu;
  BackplaneStats stats;
  std::unordered_map<std::string, uint64_t> last_seen;  // publisher -> newest sequence

  ChannelSubscription incoming;
  Subscription local;
  std::unique_ptr<PubSub> owned_bus;  // Connect's; `bus` refers to it
};

Result<std::unique_ptr<Backplane>> Backplane::Attach(Cache& cache, PubSub& bus,
                                                     BackplaneOptions options) {
  return Start(cache, bus, std::move(options), nullptr);
}

Result<std::unique_ptr<Backplane>> Backplane::Connect(Cache& cache, const RedisOptions& redis,
                                                      BackplaneOptions options) {
  if (options.name.empty()) return Status::InvalidArgument("name: must not be empty");
  // The bus reports connection changes from its own thread; they reach the backplane once it
  // exists (the first connection is not reported), and stop when ~Backplane destroys the bus.
  auto relay = std::make_shared<std::atomic<Impl*>>(nullptr);
  RedisPubSubOptions bus_options;
  bus_options.on_connection_change = [relay](bool connected) {
    if (Impl* p = relay->load(std::memory_order_acquire)) p->OnConnectionChange(connected);
  };
  Result<std::unique_ptr<PubSub>> bus = NewRedisPubSub(redis, bus_options);
  if (!bus.ok()) return bus.status().WithContext(fmt::format("backplane '{}'", options.name));
  PubSub& ref = **bus;
  Result<std::unique_ptr<Backplane>> plane = Start(cache, ref, std::move(options), relay.get());
  if (!plane.ok()) return plane;
  (*plane)->impl_->owned_bus = std::move(*bus);
  return plane;
}

Result<std::unique_ptr<Backplane>> Backplane::Start(Cache& cache, PubSub& bus,
                                                    BackplaneOptions options,
                                                    std::atomic<Impl*>* relay) {
  if (options.name.empty()) return Status::InvalidArgument("name: must not be empty");
  Result<std::string> id = coord::NewRandomToken();
  if (!id.ok()) return id.status();
  auto impl = std::make_unique<Impl>(cache, bus, std::move(options), std::move(*id));
  Impl* p = impl.get();
  Result<ChannelSubscription> sub =
      bus.Subscribe(p->channel, [p](const PubSubMessage& m) { p->OnMessage(m); });
  if (!sub.ok()) return sub.status().WithContext(fmt::format("backplane '{}'", p->options.name));
  p->incoming = std::move(*sub);
  p->sender = std::thread([p] { p->SendLoop(); });
  p->local = cache.Subscribe([p](const CacheEvent& ev) { p->OnLocalEvent(ev); },
                             EventBit(EventType::kSet) | EventBit(EventType::kDelete) |
                                 EventBit(EventType::kInvalidated) | EventBit(EventType::kClear));
  // Only now, when nothing can fail any more: a report must never reach a discarded Impl.
  if (relay != nullptr) relay->store(p, std::memory_order_release);
  return std::unique_ptr<Backplane>(new Backplane(std::move(impl)));
}

Backplane::Backplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Backplane::~Backplane() {
  impl_->local.Reset();  // nothing new to send
  {
    std::lock_guard lock(impl_->out_mu);
    impl_->stopping = true;
  }
  impl_->out_cv.notify_all();
  impl_->sender.join();  // sends what was queued
  impl_->incoming.Reset();  // waits for a message being applied
  impl_->owned_bus.reset();  // joins its threads: no connection report after this
}

void Backplane::OnBusConnectionChange(bool connected) { impl_->OnConnectionChange(connected); }

BackplaneStats Backplane::GetStats() const {
  std::lock_guard s(impl_->stats_mu);
  return impl_->stats;
}

const std::string& Backplane::id() const noexcept { return impl_->id; }

void Backplane::DropNextForTesting(uint64_t n) {
  std::lock_guard lock(impl_->out_mu);
  impl_->drop_next += n;
}

void Backplane::WaitUntilSent() { impl_->WaitSent(); }

}  // namespace larder
