// Runs a list of jobs in order with a bound on how many run at once, for parallel warming.
#pragma once

#ifndef LARDER_INTERNAL
#error "This is an internal larder header. Applications include <larder/...> public headers only."
#endif

#include <cstddef>
#include <functional>

namespace larder::loaders {

// Calls job(0) .. job(n - 1), each once, starting them in index order, at most `runners` at a
// time: the calling thread and up to runners - 1 threads started here, each taking the next
// index when it finishes one. Returns when every job has finished. If a thread cannot be
// started, the others (at least the calling thread) take its share.
// REQUIRES: runners >= 1; job does not throw.
void RunBounded(size_t n, size_t runners, const std::function<void(size_t)>& job);

}  // namespace larder::loaders
