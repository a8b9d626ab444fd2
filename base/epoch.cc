// Epoch-based reclamation: thread registry, epoch advance and the heavy side of the barrier.
#include "base/epoch.h"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <thread>

namespace larder::epoch {
namespace detail {

alignas(64) std::atomic<uint64_t> g_epoch{1};
bool g_asymmetric = false;
thread_local ThreadRecord* t_record = nullptr;

}  // namespace detail

namespace {

alignas(64) std::atomic<uint64_t> g_safe{1};
std::atomic<ThreadRecord*> g_records{nullptr};
std::mutex g_registry_mu;  // guards record allocation and g_next_ordinal
uint32_t g_next_ordinal = 0;
std::mutex g_advance_mu;  // one advancer at a time
std::once_flag g_init_once;
std::atomic<int64_t> g_last_advance_ns{0};

int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

long Membarrier(int cmd) { return syscall(__NR_membarrier, cmd, 0, 0); }

void InitBarrierMode() {
#ifndef LARDER_TSAN
  const long supported = Membarrier(MEMBARRIER_CMD_QUERY);
  if (supported > 0 && (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 &&
      Membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
    detail::g_asymmetric = true;
  }
#endif
}

void HeavyBarrier() {
  if (detail::g_asymmetric) {
    // Forces a full barrier on every CPU running one of our threads: after it, each reader's
    // announcement is visible or that reader's later loads see our unlinking stores.
    if (Membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0)
      std::atomic_thread_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
}

// Releases the thread's record when the thread exits, so a later thread can reuse it.
struct RecordReleaser {
  ~RecordReleaser() {
    ThreadRecord* r = detail::t_record;
    if (r == nullptr) return;
    r->depth = 0;
    r->active.store(0, std::memory_order_release);
    // A new generation: releases still in flight for this owner are dropped, not applied to
    // the next thread that takes the record.
    ++r->generation;
    r->foreign_exits.store(uint64_t{r->generation} << 32, std::memory_order_release);
    detail::t_record = nullptr;
    r->in_use.store(false, std::memory_order_release);
  }
};
thread_local RecordReleaser t_releaser;

}  // namespace

namespace detail {

ThreadRecord* RegisterThread() {
  std::call_once(g_init_once, InitBarrierMode);
  ThreadRecord* record = nullptr;
  {
    std::lock_guard lock(g_registry_mu);
    for (ThreadRecord* r = g_records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
      if (!r->in_use.load(std::memory_order_acquire)) {
        record = r;
        break;
      }
    }
    if (record == nullptr) {
      // Records are never freed: scanners walk the list without locks.
      record = new ThreadRecord();  // NOLINT(cppcoreguidelines-owning-memory)
      record->ordinal = g_next_ordinal++;
      record->next = g_records.load(std::memory_order_relaxed);
      g_records.store(record, std::memory_order_release);
    }
    record->depth = 0;
    record->foreign_exits.store(uint64_t{record->generation} << 32, std::memory_order_relaxed);
    record->in_use.store(true, std::memory_order_release);
  }
  t_record = record;
  (void)&t_releaser;  // touching it registers its destructor for this thread
  return record;
}

}  // namespace detail

void ExitPin(PinToken pin) noexcept {
  if (pin.record == detail::t_record) {
    Exit();
    return;
  }
  uint64_t v = pin.record->foreign_exits.load(std::memory_order_relaxed);
  while ((v >> 32) == pin.generation) {
    if (pin.record->foreign_exits.compare_exchange_weak(v, v + 1, std::memory_order_release)) {
      return;
    }
  }
}

uint64_t SafeEpoch() { return g_safe.load(std::memory_order_acquire); }

uint64_t TryAdvance() {
  std::unique_lock lock(g_advance_mu, std::try_to_lock);
  if (!lock.owns_lock()) return g_safe.load(std::memory_order_acquire);
  const uint64_t next = detail::g_epoch.fetch_add(1, std::memory_order_seq_cst) + 1;
  HeavyBarrier();
  uint64_t safe = next;
  for (ThreadRecord* r = g_records.load(std::memory_order_acquire); r != nullptr; r = r->next) {
    const uint64_t a = r->active.load(std::memory_order_seq_cst);
    if (a != 0 && a < safe) safe = a;
  }
  g_last_advance_ns.store(SteadyNanos(), std::memory_order_relaxed);
  // Keep the published value monotonic even if a stale reader announced an old epoch.
  uint64_t prev = g_safe.load(std::memory_order_relaxed);
  if (safe > prev) g_safe.store(safe, std::memory_order_release);
  return safe > prev ? safe : prev;
}

uint64_t TryAdvanceThrottled(int64_t min_interval_ns) {
  if (SteadyNanos() - g_last_advance_ns.load(std::memory_order_relaxed) < min_interval_ns) {
    return SafeEpoch();
  }
  return TryAdvance();
}

void Synchronize() {
  const uint64_t target = RetireTag();
  while (!Reclaimable(target, TryAdvance())) std::this_thread::yield();
}

}  // namespace larder::epoch
