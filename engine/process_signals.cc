#include "engine/process_signals.h"

#include <signal.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <thread>

namespace larder::internal {
namespace {

struct SignalRegistry {
  std::mutex mu;
  std::map<const void*, std::function<void()>> callbacks;
  int pipe_fds[2] = {-1, -1};
};

SignalRegistry& Registry() {
  static SignalRegistry* registry = new SignalRegistry();  // lives until exit, by design
  return *registry;
}

void OnSignal(int signo) {
  const unsigned char byte = static_cast<unsigned char>(signo);
  // Async-signal-safe: hand the signal to the watcher thread and return.
  (void)!write(Registry().pipe_fds[1], &byte, 1);
}

void WatchSignals() {
  unsigned char byte = 0;
  while (read(Registry().pipe_fds[0], &byte, 1) != 1) {
  }
  const int signo = byte;
  {
    std::lock_guard lock(Registry().mu);
    for (auto& [owner, callback] : Registry().callbacks) callback();
  }
  signal(signo, SIG_DFL);
  raise(signo);  // now the default action: the process ends as the signal intends
}

void InstallSignalHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (pipe(Registry().pipe_fds) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::thread(WatchSignals).detach();
  });
}

}  // namespace

void RegisterForSignals(const void* owner, std::function<void()> on_signal) {
  {
    std::lock_guard lock(Registry().mu);
    Registry().callbacks[owner] = std::move(on_signal);
  }
  InstallSignalHandlers();
}

void UnregisterFromSignals(const void* owner) {
  std::lock_guard lock(Registry().mu);
  Registry().callbacks.erase(owner);
}

}  // namespace larder::internal
