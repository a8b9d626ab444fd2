// Backplane: local invalidations out (in order, from one sender thread), other instances'
// invalidations in (applied inside a RemoteScope so they do not travel back), gaps and
// reconnections answered by a resync.
#include "larder/backplane.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "backplane_message.h"
#include "backplane_target.h"
#include "larder/redis_l2.h"
#include "redis_l2_impl.h"
#include "random_token.h"

namespace larder {

namespace {

// Messages waiting for the sender thread; beyond this, new ones are dropped (and counted as
// failed publishes: the gap makes the others resync) rather than growing without bound while
// the bus is down.
constexpr size_t kMaxQueued = 100'000;

}  // namespace

struct Backplane::Impl {
  Impl(std::unique_ptr<coord::BackplaneTarget> t, PubSub& b, BackplaneOptions o,
       std::string publisher)
      : target(std::move(t)), bus(b), options(std::move(o)), id(std::move(publisher)),
        channel(options.channel_prefix + options.name),
        clock(options.clock != nullptr ? options.clock : SystemClock()) {}

  // ---- Out ----

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
    const Duration bound = options.max_staleness_while_disconnected;
    // Checks the disconnection bound about four times per bound (at least every 10 ms).
    const auto period = std::max<Duration>(bound / 4, std::chrono::milliseconds(10));
    for (;;) {
      const auto ready = [&] { return stopping || !queue.empty(); };
      if (bound.count() > 0) {
        if (!out_cv.wait_for(lock, period, ready)) {
          lock.unlock();
          CheckDisconnection();
          lock.lock();
          continue;
        }
      } else {
        out_cv.wait(lock, ready);
      }
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
    bool applied = false;
    {
      RemoteScope remote;
      applied = target->Apply(msg.kind, msg.payload);
    }
    if (!applied) {
      {
        std::lock_guard s(stats_mu);
        ++stats.unapplicable;
      }
      Resync(ResyncReason::kUnapplicable);
    }
  }

  void Resync(ResyncReason reason) {
    {
      RemoteScope remote;  // local repair: nothing to tell the others
      target->Resync(options.resync);
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
      if (!connected && stats.connected) {
        ++stats.disconnects;
        last_trusted = clock->NowNanos();  // what arrived until now was applied
      }
      lost_and_back = connected && !stats.connected;
      stats.connected = connected;
      // What was missed is repaired by the resync; counting starts again from what comes next.
      if (lost_and_back) last_seen.clear();
    }
    if (lost_and_back) Resync(ResyncReason::kReconnected);
  }

  // While disconnected: a resync each time max_staleness_while_disconnected has passed since the
  // connection was lost or since the last such resync.
  void CheckDisconnection() {
    const int64_t bound = options.max_staleness_while_disconnected.count();
    if (bound <= 0) return;
    {
      std::lock_guard s(stats_mu);
      const int64_t now = clock->NowNanos();
      if (stats.connected || now - last_trusted < bound) return;
      last_trusted = now;
    }
    Resync(ResyncReason::kDisconnected);
  }

  std::unique_ptr<coord::BackplaneTarget> target;
  PubSub& bus;
  const BackplaneOptions options;
  const std::string id;
  const std::string channel;
  const std::shared_ptr<Clock> clock;

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
  int64_t last_trusted = 0;  // while disconnected: the connection loss or the last resync since

  ChannelSubscription incoming;
  Subscription local;
  std::unique_ptr<PubSub> owned_bus;  // Connect's; `bus` refers to it
};

namespace {

std::unique_ptr<Backplane::Target> Wrap(std::unique_ptr<coord::BackplaneTarget> t,
                                        bool is_cache) {
  return std::make_unique<Backplane::Target>(Backplane::Target{std::move(t), is_cache});
}

BackplaneOptions Named(BackplaneOptions options, std::string_view name) {
  if (options.name.empty()) options.name = name;
  return options;
}

}  // namespace

Result<std::unique_ptr<Backplane>> Backplane::Attach(Cache& cache, PubSub& bus,
                                                     BackplaneOptions options) {
  return Start(Wrap(coord::NewCacheTarget(cache), true), bus, std::move(options), nullptr);
}

Result<std::unique_ptr<Backplane>> Backplane::Connect(Cache& cache, const RedisOptions& redis,
                                                      BackplaneOptions options) {
  return ConnectTarget(Wrap(coord::NewCacheTarget(cache), true), redis, std::move(options));
}

Result<std::unique_ptr<Backplane>> Backplane::Attach(RecordCache& cache, PubSub& bus,
                                                     BackplaneOptions options) {
  return Start(Wrap(coord::NewRecordCacheTarget(cache), false), bus, Named(std::move(options), cache.name()),
               nullptr);
}

Result<std::unique_ptr<Backplane>> Backplane::Connect(RecordCache& cache, const RedisOptions& redis,
                                                      BackplaneOptions options) {
  return ConnectTarget(Wrap(coord::NewRecordCacheTarget(cache), false), redis,
                       Named(std::move(options), cache.name()));
}

Result<std::unique_ptr<Backplane>> Backplane::ConnectTarget(std::unique_ptr<Target> target,
                                                            const RedisOptions& redis,
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
  Result<std::unique_ptr<Backplane>> plane =
      Start(std::move(target), ref, std::move(options), relay.get());
  if (!plane.ok()) return plane;
  (*plane)->impl_->owned_bus = std::move(*bus);
  return plane;
}

Result<std::unique_ptr<Backplane>> Backplane::Start(std::unique_ptr<Target> target, PubSub& bus,
                                                    BackplaneOptions options,
                                                    std::atomic<Impl*>* relay) {
  if (options.name.empty()) return Status::InvalidArgument("name: must not be empty");
  if (options.max_staleness_while_disconnected.count() < 0) {
    return Status::InvalidArgument("max_staleness_while_disconnected: must not be negative");
  }
  if (options.l2 != nullptr && !target->is_cache) {
    return Status::InvalidArgument("l2: only a key-value Cache has a Redis L2");
  }
  Result<std::string> id = coord::NewRandomToken();
  if (!id.ok()) return id.status();
  auto impl = std::make_unique<Impl>(std::move(target->target), bus, std::move(options),
                                     std::move(*id));
  Impl* p = impl.get();
  Result<ChannelSubscription> sub =
      bus.Subscribe(p->channel, [p](const PubSubMessage& m) { p->OnMessage(m); });
  if (!sub.ok()) return sub.status().WithContext(fmt::format("backplane '{}'", p->options.name));
  p->incoming = std::move(*sub);
  p->sender = std::thread([p] { p->SendLoop(); });
  RedisL2::Impl* l2 = p->options.l2 != nullptr ? p->options.l2->impl_.get() : nullptr;
  if (l2 != nullptr) l2->on_backplane.store(true, std::memory_order_release);
  p->local = p->target->Watch([p, l2](coord::BackplaneKind kind, std::string_view payload) {
    if (l2 != nullptr) l2->Invalidate(kind, payload);  // Redis first, then the others
    p->Enqueue(kind, payload);
  });
  // Only now, when nothing can fail any more: a report must never reach a discarded Impl.
  if (relay != nullptr) relay->store(p, std::memory_order_release);
  return std::unique_ptr<Backplane>(new Backplane(std::move(impl)));
}

Backplane::Backplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Backplane::~Backplane() {
  impl_->local.Reset();  // nothing new to send
  if (impl_->options.l2 != nullptr) {
    impl_->options.l2->impl_->on_backplane.store(false, std::memory_order_release);
  }
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

void Backplane::RunPendingMaintenance() { impl_->CheckDisconnection(); }

}  // namespace larder
