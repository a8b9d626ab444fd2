// GroupBackplane: one Backplane per cache of a RecordCacheGroup, all on one Redis PubSub (one
// publishing connection, one subscriber), whose connection reports reach every one of them.
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "backplane_target.h"
#include "larder/backplane.h"

namespace larder {

struct GroupBackplane::Impl {
  void OnConnectionChange(bool connected) {
    std::lock_guard lock(mu);
    if (closing) return;
    for (auto& [name, plane] : planes) plane->OnBusConnectionChange(connected);
  }

  std::mutex mu;
  bool closing = false;  // set once the backplanes are about to go: no more reports reach them
  std::unique_ptr<PubSub> bus;
  std::vector<std::pair<std::string, std::unique_ptr<Backplane>>> planes;
};

Result<std::unique_ptr<GroupBackplane>> GroupBackplane::Connect(RecordCacheGroup& group,
                                                                const RedisOptions& redis,
                                                                GroupBackplaneOptions options) {
  const std::vector<std::string> names = group.Names();
  if (names.empty()) return Status::InvalidArgument("group: has no caches to connect");
  if (options.max_staleness_while_disconnected.count() < 0) {
    return Status::InvalidArgument("max_staleness_while_disconnected: must not be negative");
  }
  auto relay = std::make_shared<std::atomic<Impl*>>(nullptr);
  RedisOptions one_pair = redis;
  one_pair.max_connections = 1;  // every cache publishes through the same connection
  RedisPubSubOptions bus_options;
  bus_options.on_connection_change = [relay](bool connected) {
    if (Impl* p = relay->load(std::memory_order_acquire)) p->OnConnectionChange(connected);
  };
  Result<std::unique_ptr<PubSub>> bus = NewRedisPubSub(one_pair, bus_options);
  if (!bus.ok()) return bus.status().WithContext("group backplane");
  auto impl = std::make_unique<Impl>();
  impl->bus = std::move(*bus);
  for (const std::string& name : names) {
    RecordCache* cache = group.Get(name);
    BackplaneOptions each;
    each.name = name;
    each.channel_prefix = options.channel_prefix;
    each.resync = options.resync;
    if (options.on_resync) {
      each.on_resync = [fn = options.on_resync, name](ResyncReason r) { fn(name, r); };
    }
    each.max_staleness_while_disconnected = options.max_staleness_while_disconnected;
    each.clock = options.clock;
    Result<std::unique_ptr<Backplane>> plane = Backplane::Start(
        std::make_unique<Backplane::Target>(Backplane::Target{coord::NewRecordCacheTarget(*cache), false}),
        *impl->bus, std::move(each), nullptr);
    if (!plane.ok()) return plane.status().WithContext(fmt::format("cache '{}'", name));
    impl->planes.emplace_back(name, std::move(*plane));
  }
  relay->store(impl.get(), std::memory_order_release);
  return std::unique_ptr<GroupBackplane>(new GroupBackplane(std::move(impl)));
}

GroupBackplane::GroupBackplane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GroupBackplane::~GroupBackplane() {
  {
    std::lock_guard lock(impl_->mu);  // waits for a report being delivered
    impl_->closing = true;
  }
  // The backplanes go first (sending what is queued and unsubscribing) while the bus runs; the
  // bus then joins its threads.
  impl_->planes.clear();
  impl_->bus.reset();
}

Backplane* GroupBackplane::Get(std::string_view name) const {
  for (const auto& [n, plane] : impl_->planes) {
    if (n == name) return plane.get();
  }
  return nullptr;
}

std::vector<std::pair<std::string, BackplaneStats>> GroupBackplane::GetAllStats() const {
  std::vector<std::pair<std::string, BackplaneStats>> all;
  for (const auto& [name, plane] : impl_->planes) all.emplace_back(name, plane->GetStats());
  return all;
}

void GroupBackplane::WaitUntilSent() {
  for (auto& [name, plane] : impl_->planes) plane->WaitUntilSent();
}

void GroupBackplane::RunPendingMaintenance() {
  for (auto& [name, plane] : impl_->planes) plane->RunPendingMaintenance();
}

}  // namespace larder
