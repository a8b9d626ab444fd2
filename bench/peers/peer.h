// Peer: the interface every benchmarked system (larder and its peers) implements.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "histogram.h"
#include "workload.h"

namespace larder::bench {

// Workers run ops in chunks of this many; the stop flag is checked between chunks.
inline constexpr size_t kOpsPerChunk = 1024;
// In-process peers time one op in this many individually (see op_loop.h).
inline constexpr size_t kLatencySampleEvery = 32;
static_assert(kStreamLength % kOpsPerChunk == 0 && kOpsPerChunk % kLatencySampleEvery == 0);

// What one worker thread accumulates during a timed run. Aligned so that threads' stats never
// share a cache line.
struct alignas(64) WorkerStats {
  uint64_t ops = 0;
  uint64_t failed_ops = 0;   // reads that found nothing, writes the system refused
  uint64_t checksum = 0;     // folds one byte of every value read, so no read is optimised away
  uint64_t write_seq = 0;    // makes every written value distinct
  LatencyHistogram latency;  // cycles of sampled ops (or of request batches, see Worker)
};

// One thread's handle on a system. Created, used and destroyed on that thread.
class Worker {
 public:
  virtual ~Worker() = default;
  // Executes ops [begin, begin + count) of `stream` against the system.
  // REQUIRES: begin is a multiple of kOpsPerChunk, count == kOpsPerChunk.
  virtual void Run(const OpStream& stream, size_t begin, size_t count, WorkerStats* stats) = 0;
};

class Peer {
 public:
  virtual ~Peer() = default;
  // Stores every key of `keys` with its initial value. The peer keeps a reference to `keys`.
  virtual void Fill(const KeySet& keys) = 0;
  // Entries the system holds now.
  virtual uint64_t EntryCount() = 0;
  // Whether the system runs this mix (redis is measured on reads only).
  virtual bool Supports(const Mix& /*mix*/) const { return true; }
  // What a Worker's latency samples are: "op" (one sampled op) or a description of the unit.
  virtual std::string_view LatencyUnit() const { return "op"; }
  // Processes that work for this peer (a server); their CPU time is not interference.
  virtual std::vector<pid_t> HelperPids() const { return {}; }
  // Memory the system reports using itself (redis used_memory); nullopt = measure RSS instead.
  virtual std::optional<uint64_t> ReportedMemoryBytes() { return std::nullopt; }
  // A worker for the calling thread.
  virtual std::unique_ptr<Worker> NewWorker() = 0;
};

// How one system is built. `make` returns null and sets *why when the system cannot run on this
// machine (for example redis-server is not installed).
struct PeerFactory {
  std::string_view name;
  std::unique_ptr<Peer> (*make)(std::string* why);
};

std::unique_ptr<Peer> MakeLarderPeer(std::string* why);
std::unique_ptr<Peer> MakeLarderLruPeer(std::string* why);
std::unique_ptr<Peer> MakeStdSharedMutexPeer(std::string* why);
std::unique_ptr<Peer> MakeTbbPeer(std::string* why);
std::unique_ptr<Peer> MakeLibcuckooPeer(std::string* why);
std::unique_ptr<Peer> MakeRocksdbLruPeer(std::string* why);
std::unique_ptr<Peer> MakeRedisPeer(std::string* why);

// Every system, in report order (larder first).
std::span<const PeerFactory> AllPeers();
// The factory named `name`, or null.
const PeerFactory* FindPeer(std::string_view name);

}  // namespace larder::bench
