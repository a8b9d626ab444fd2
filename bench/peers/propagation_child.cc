// The receiving process of the propagation cells (B): its own cache and backplane, a cache
// listener for remote removals, and a plain SUBSCRIBE socket; it reports arrival times.
#include <signal.h>
#include <sys/prctl.h>

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "larder/backplane.h"
#include "larder/cache.h"
#include "larder/coord.h"
#include "larder/events.h"
#include "larder/redis.h"
#include "memory.h"
#include "propagation.h"
#include "redis_client.h"

namespace larder::bench {
namespace {

using Clock = std::chrono::steady_clock;

// How long B waits, once A says it is done, for backplane messages still on their way.
constexpr std::chrono::seconds kStragglerWait{3};

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// Arrival times by path and sequence number, from the listener's thread and the main thread.
class Arrivals {
 public:
  explicit Arrivals(uint64_t messages)
      : messages_(messages),
        times_(kPropagationPaths, std::vector<int64_t>(messages, -1)),
        counts_(kPropagationPaths, 0) {}

  // `seq` is the sequence number's text; anything else (or a repeat) is ignored.
  void Record(PropagationPath path, std::string_view seq, int64_t now) {
    uint64_t n = 0;
    if (std::from_chars(seq.data(), seq.data() + seq.size(), n).ec != std::errc()) return;
    const int p = static_cast<int>(path);
    std::lock_guard lock(mu_);
    if (n >= times_[p].size() || times_[p][n] >= 0) return;
    times_[p][n] = now;
    ++counts_[p];
    cv_.notify_all();
  }

  // Waits until the paths through larder's threads have every message, or `deadline`.
  void WaitForLarderPaths(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, deadline, [&] {
      return counts_[static_cast<int>(PropagationPath::kSet)] == messages_ &&
             counts_[static_cast<int>(PropagationPath::kPattern)] == messages_ &&
             counts_[static_cast<int>(PropagationPath::kPubSub)] == messages_;
    });
  }

  void Print() {
    std::lock_guard lock(mu_);
    for (int p = 0; p < kPropagationPaths; ++p) {
      for (size_t n = 0; n < times_[p].size(); ++n) {
        if (times_[p][n] < 0) continue;
        std::printf("%d %zu %lld\n", p, n, static_cast<long long>(times_[p][n]));
      }
    }
  }

 private:
  const uint64_t messages_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::vector<int64_t>> times_;  // [path][seq], -1 until it arrives
  std::vector<uint64_t> counts_;             // [path]
};

// The remote removals A's calls cause here.
void OnCacheEvent(const CacheEvent& ev, Arrivals* arrivals) {
  if (!ev.remote) return;  // only what the backplane applies
  const int64_t now = NowNs();
  if (ev.type == EventType::kDelete && ev.scope == InvalidationScope::kKey &&
      ev.key.starts_with(kSetKeyPrefix)) {
    arrivals->Record(PropagationPath::kSet, ev.key.substr(kSetKeyPrefix.size()), now);
  } else if (ev.type == EventType::kInvalidated && ev.scope == InvalidationScope::kPattern &&
             ev.key.starts_with(kPatternPrefix)) {
    std::string_view seq = ev.key.substr(kPatternPrefix.size());
    arrivals->Record(PropagationPath::kPattern, seq.substr(0, seq.find(':')), now);
  }
}

// Reads the plain channel until A's "done" on the control channel, or the deadline.
bool ReadPublished(RedisClient& subscriber, Clock::time_point deadline, Arrivals* arrivals) {
  while (Clock::now() < deadline) {
    ReplyPtr m = subscriber.NextPush(std::chrono::milliseconds(200));
    if (m == nullptr) continue;
    const int64_t now = NowNs();
    if (m->type != REDIS_REPLY_ARRAY || m->elements != 3) continue;
    const std::string_view channel(m->element[1]->str, m->element[1]->len);
    const std::string_view payload(m->element[2]->str, m->element[2]->len);
    if (channel == kPublishChannel) arrivals->Record(PropagationPath::kPublish, payload, now);
    if (channel == kControlChannel) return true;
  }
  return false;
}

int Run(int port, uint64_t messages, Clock::time_point deadline) {
  CacheOptions cache_options;
  cache_options.prefix_index = true;  // a pattern visits only its own prefix, as A's does
  cache_options.expected_entries = messages;
  Result<std::unique_ptr<Cache>> cache = Cache::Open(std::move(cache_options));
  if (!cache.ok()) throw std::runtime_error(cache.status().ToString());
  // Held before the backplane is attached, so these writes are not sent to A.
  for (uint64_t n = 0; n < messages; ++n) {
    Status s = (*cache)->Set(fmt::format("{}{}", kSetKeyPrefix, n), "v");
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  RedisOptions redis;
  redis.port = static_cast<uint16_t>(port);
  Result<std::unique_ptr<Backplane>> plane =
      Backplane::Connect(**cache, redis, BackplaneOptions{.name = kBackplaneName});
  if (!plane.ok()) throw std::runtime_error(plane.status().ToString());
  Result<std::unique_ptr<PubSub>> bus = NewRedisPubSub(redis);
  if (!bus.ok()) throw std::runtime_error(bus.status().ToString());
  Arrivals arrivals(messages);
  Result<ChannelSubscription> channel =
      (*bus)->Subscribe(kPubSubChannel, [&](const PubSubMessage& m) {
        arrivals.Record(PropagationPath::kPubSub, m.payload, NowNs());
      });
  if (!channel.ok()) throw std::runtime_error(channel.status().ToString());
  Subscription listener =
      (*cache)->Subscribe([&](const CacheEvent& ev) { OnCacheEvent(ev, &arrivals); },
                          EventBit(EventType::kDelete) | EventBit(EventType::kInvalidated));
  RedisClient subscriber(port);
  subscriber.Append({"SUBSCRIBE", kPublishChannel, kControlChannel});
  for (int confirmations = 0; confirmations < 2; ++confirmations) (void)subscriber.Reply();
  RedisClient(port).Command({"SET", kReadyKey, "1"});

  const bool ended = ReadPublished(subscriber, deadline, &arrivals);
  arrivals.WaitForLarderPaths(Clock::now() + kStragglerWait);
  listener.Reset();
  channel->Reset();
  const BackplaneStats stats = (*plane)->GetStats();
  arrivals.Print();
  std::printf("stats received=%llu applied=%llu gaps=%llu resyncs=%llu disconnects=%llu\n",
              static_cast<unsigned long long>(stats.received),
              static_cast<unsigned long long>(stats.applied),
              static_cast<unsigned long long>(stats.gaps),
              static_cast<unsigned long long>(stats.resyncs),
              static_cast<unsigned long long>(stats.disconnects));
  if (!ended) std::fprintf(stderr, "propagation receiver: no end signal before its deadline\n");
  return ended ? 0 : 1;
}

}  // namespace

int PropagationChildMain(std::string_view args) {
  // The parent's thread that started us waits for us; if the parent dies, so do we.
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  std::map<std::string, double> f = ParseFields(args);
  if (f.count("port") == 0 || f.count("messages") == 0 || f.count("deadline_s") == 0) {
    std::fprintf(stderr, "--propagation-child: want port=P messages=N deadline_s=S\n");
    return 2;
  }
  try {
    const auto deadline =
        Clock::now() + std::chrono::seconds(static_cast<int64_t>(f["deadline_s"]));
    return Run(static_cast<int>(f["port"]), static_cast<uint64_t>(f["messages"]), deadline);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "propagation receiver: %s\n", e.what());
    return 1;
  }
}

}  // namespace larder::bench
