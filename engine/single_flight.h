// Flight: one in-progress load of a key that every concurrent caller of that key shares.
//
// The shard keeps a map key -> Flight under its lock; the first caller (the leader) runs the
// fetcher, later callers Wait(). The leader removes the map entry, then Complete()s the flight,
// so a caller arriving after completion starts a new flight or finds the cached value.
//
// A write or an explicit removal of the key while the fetch runs supersedes the flight: the
// fetched value may predate that change, so it is returned to the flight's callers but not
// stored (a Delete during a load must not be undone by the load finishing after it).
#pragma once

#include "base/private.h"

#include <condition_variable>
#include <mutex>
#include <string>

#include "larder/status.h"

namespace larder {

struct Flight {
  void Complete(Result<std::string> r) {
    {
      std::lock_guard lock(mu);
      result = std::move(r);
      done = true;
    }
    cv.notify_all();
  }
  Result<std::string> Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    return result;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  Result<std::string> result{Status::Aborted("load still in flight")};
  // Set and read under the owning shard's lock (Shard::SupersedeFlight).
  bool superseded = false;
};

}  // namespace larder
