// Epoch-based reclamation (EBR): lets readers use shared memory without locks or reference counts,
// and tells writers when memory they unlinked can be reused.
//
// Readers bracket their accesses with Enter()/Exit() (or a Guard). Enter announces the global
// epoch in the calling thread's own record (its own cache line), so a read section writes nothing
// another core reads on its fast path. Writers unlink an object, take RetireTag(), and reuse the
// object only once Reclaimable(tag, SafeEpoch()) holds: every thread that could still see it has
// left its read section.
//
// Invariants:
//  * A thread's record is written only by that thread, except `active` which scanners read.
//  * Enter publishes `active` before any protected load: on Linux a compiler-only barrier on the
//    reader plus membarrier(PRIVATE_EXPEDITED) on the (rare) advancing side; elsewhere, or when
//    membarrier is unavailable, a full fence on the reader. TSan builds use an atomic exchange.
//  * The global epoch only grows; it is advanced by one thread at a time (advance mutex), and
//    each advance is followed by the heavy barrier before records are scanned.
//  * An object retired with tag t is reclaimable when t + 1 < safe, where safe is the smallest
//    epoch announced by a thread inside a read section at the last scan (or the epoch then).
//
// Thread safety: all functions are safe from any thread. Read sections nest. A read section must
// end on the thread that began it.
#pragma once

#include "base/private.h"
#include "base/sanitizers.h"

#include <atomic>
#include <cassert>
#include <cstdint>

namespace larder::epoch {

struct alignas(64) ThreadRecord {
  std::atomic<uint64_t> active{0};  // 0 = not in a read section, else the announced epoch
  uint32_t depth = 0;               // nesting; touched by the owning thread only
  uint32_t ordinal = 0;             // small dense thread number, constant after creation
  // Read sections ended on another thread (a handle released elsewhere): generation in the high
  // half (bumped each time a new thread takes the record), count in the low half. The owner
  // settles them on its next Enter or Exit; others only add, and only for their generation.
  std::atomic<uint64_t> foreign_exits{0};
  uint32_t generation = 0;          // written by the owner when it takes the record
  std::atomic<bool> in_use{false};  // owned by a live thread
  ThreadRecord* next = nullptr;     // registry list; constant once published
};

// Identifies the read section a handle holds: which thread record, which owner of it.
struct PinToken {
  ThreadRecord* record = nullptr;
  uint32_t generation = 0;
};

namespace detail {
extern std::atomic<uint64_t> g_epoch;
extern bool g_asymmetric;  // membarrier in use; constant once any thread has registered
extern thread_local ThreadRecord* t_record;
ThreadRecord* RegisterThread();
}  // namespace detail

// The calling thread's record, registering the thread on first use.
inline ThreadRecord* Self() {
  ThreadRecord* r = detail::t_record;
  return r != nullptr ? r : detail::RegisterThread();
}

// A small number unique among live threads (reused after a thread exits); for striping.
inline uint32_t ThreadOrdinal() { return Self()->ordinal; }

// Applies read sections other threads ended on this thread's behalf.
inline void SettleForeignExits(ThreadRecord* r) {
  const uint64_t v = r->foreign_exits.load(std::memory_order_relaxed);
  if ((v & 0xffffffffu) == 0) return;
  const uint64_t taken = r->foreign_exits.exchange(v & ~uint64_t{0xffffffff},
                                                   std::memory_order_acquire);
  const uint32_t n = static_cast<uint32_t>(taken);
  r->depth = n >= r->depth ? 0 : r->depth - n;
  if (r->depth == 0) r->active.store(0, std::memory_order_release);
}

// Begins a read section; returns the thread's record (its ordinal serves for striping).
inline ThreadRecord* Enter() {
  ThreadRecord* r = Self();
  SettleForeignExits(r);
  if (r->depth++ != 0) return r;
  const uint64_t e = detail::g_epoch.load(std::memory_order_relaxed);
#ifdef LARDER_TSAN
  r->active.exchange(e, std::memory_order_seq_cst);
#else
  r->active.store(e, std::memory_order_release);
  if (detail::g_asymmetric) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
  } else {
    std::atomic_thread_fence(std::memory_order_seq_cst);
  }
#endif
  return r;
}

inline void Exit() {
  ThreadRecord* r = detail::t_record;
  assert(r != nullptr && r->depth > 0);
  if (--r->depth == 0) r->active.store(0, std::memory_order_release);
  SettleForeignExits(r);
}

// The token for the read section the calling thread is in. REQUIRES: inside one.
inline PinToken CurrentPin() {
  ThreadRecord* r = detail::t_record;
  return {r, r->generation};
}

// Ends the read section `pin` names, from whichever thread holds the handle: directly on the
// owning thread, otherwise by telling the owner (dropped if the owner has exited since, which
// ended all its sections).
void ExitPin(PinToken pin) noexcept;

inline bool InReadSection() {
  const ThreadRecord* r = detail::t_record;
  return r != nullptr && r->depth != 0;
}

class Guard {
 public:
  Guard() { Enter(); }
  ~Guard() { Exit(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;
};

// Tag for an object the caller has just unlinked (call after the unlinking store).
inline uint64_t RetireTag() { return detail::g_epoch.load(std::memory_order_seq_cst); }

// The safe epoch computed by the latest scan; cheap.
uint64_t SafeEpoch();

// Advances the epoch and scans the thread records; returns the new safe epoch. If another thread
// is advancing right now, returns the last safe epoch without waiting.
uint64_t TryAdvance();

// Like TryAdvance, but at most once per `min_interval_ns` process-wide: writers that pile up
// retirements call this, and each advance costs a membarrier (an interrupt on every core
// running one of our threads).
uint64_t TryAdvanceThrottled(int64_t min_interval_ns);

inline bool Reclaimable(uint64_t tag, uint64_t safe) { return tag + 1 < safe; }

// Blocks until everything retired before the call is reclaimable.
// REQUIRES: not inside a read section (it would wait for itself).
void Synchronize();

}  // namespace larder::epoch
