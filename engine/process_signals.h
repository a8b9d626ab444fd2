// Process signals: SIGINT and SIGTERM handed to a watcher thread (self-pipe), which runs every
// registered callback and then lets the signal take its default action. No work ever runs inside
// the signal handler itself.
//
// Thread safety: all functions may be called from any thread. Handlers are installed once per
// process, at the first registration.
#pragma once

#include "base/private.h"

#include <functional>

namespace larder::internal {

// Registers (or replaces) the callback of `owner`.
void RegisterForSignals(const void* owner, std::function<void()> on_signal);
// Removes `owner`'s callback; waits while a signal is being handled.
void UnregisterFromSignals(const void* owner);

}  // namespace larder::internal
