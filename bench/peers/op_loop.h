// RunOps: the timed inner loop shared by the in-process peers, inlined into each peer's Worker.
#pragma once

#include <cstddef>
#include <cstdint>

#include "peer.h"
#include "tsc.h"
#include "workload.h"

namespace larder::bench {

// Runs ops [begin, begin + count) of `stream`. `read(key, &value)` copies the value out and
// returns whether it was found; `write(key, value)` stores and returns whether it was accepted.
// The first op of every group of kLatencySampleEvery is timed with the TSC.
template <typename ReadFn, typename WriteFn>
inline void RunOps(const KeySet& keys, const OpStream& stream, size_t begin, size_t count,
                   WorkerStats* stats, ReadFn&& read, WriteFn&& write) {
  uint64_t checksum = stats->checksum;
  uint64_t failed = 0;
  uint64_t seq = stats->write_seq;
  auto one_op = [&](size_t i) {
    const uint32_t k = stream.keys[i];
    if (stream.writes[i] != 0) {
      failed += write(keys.key(k), UpdatedValue(keys.value(k), ++seq)) ? 0 : 1;
    } else {
      Value16 out;
      if (read(keys.key(k), &out)) {
        checksum += static_cast<unsigned char>(out.bytes[k % kValueSize]);
      } else {
        ++failed;
      }
    }
  };
  const size_t end = begin + count;
  for (size_t group = begin; group < end; group += kLatencySampleEvery) {
    const uint64_t start = ReadTsc();
    one_op(group);
    stats->latency.Record(ReadTsc() - start);
    for (size_t i = group + 1; i < group + kLatencySampleEvery; ++i) one_op(i);
  }
  stats->checksum = checksum;
  stats->failed_ops += failed;
  stats->write_seq = seq;
  stats->ops += count;
}

}  // namespace larder::bench
