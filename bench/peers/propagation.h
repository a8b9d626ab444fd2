// Propagation cells of the coordination suite: how long an invalidation takes to reach another
// process through the Backplane, beside a bare Redis PUBLISH between the same two processes.
//
// This process (A) owns a Cache with a Backplane; the receiver (B) is this executable re-run with
// --propagation-child, with its own Cache and Backplane of the same name and a cache listener.
// Paths, each timed from A's call to B's observation of it:
//   set      A: Cache::Set("lat:<seq>")              B: the remote kDelete of "lat:<seq>"
//   pattern  A: InvalidatePattern("pat:<seq>:*")     B: the remote kInvalidated naming it
//   pubsub   A: PubSub::Publish (NewRedisPubSub)     B: its PubSub's handler (what the backplane
//                                                       rides on, without the backplane)
//   publish  A: PUBLISH on a plain channel (hiredis)  B: the message read off its SUBSCRIBE socket
// B holds every "lat:<seq>" key beforehand: a removal of a key a cache does not hold emits no
// event (CacheCore::Delete reports only what it removed), on either side. A pattern always emits
// its kInvalidated, matched or not, so B needs no "pat:" keys.
#pragma once

#include <string_view>

#include "coordination_suite.h"
#include "results.h"

namespace larder::bench {

// Starts the receiver, sends `config.reps` rounds of every path at config.message_interval
// against the server on 127.0.0.1:`port`, and fills results->propagation. Throws when either
// process fails.
void RunPropagationCells(const CoordinationConfig& config, int port, Results* results);

// The body of `--propagation-child "port=P messages=N deadline_s=S"`: B. Prints one line per
// arrival, "<path> <seq> <steady_clock ns>", then the backplane's counters as "stats k=v ...".
// Returns the exit status.
int PropagationChildMain(std::string_view args);

// What both sides agree on.
enum class PropagationPath : int { kSet = 0, kPattern = 1, kPubSub = 2, kPublish = 3 };
inline constexpr int kPropagationPaths = 4;
inline constexpr std::string_view kSetKeyPrefix = "lat:";
inline constexpr std::string_view kPatternPrefix = "pat:";
inline constexpr char kBackplaneName[] = "larder_bench";
inline constexpr char kPubSubChannel[] = "larder_bench:pubsub";
inline constexpr char kPublishChannel[] = "larder_bench:publish";
inline constexpr char kControlChannel[] = "larder_bench:control";  // "done": A sent everything
inline constexpr char kReadyKey[] = "larder_bench:ready";          // "1": B is listening

}  // namespace larder::bench
