// Fuzzes the simulator's trace readers: the first byte picks the format, the rest is the file.
// Any input either yields requests or a clear error; it never crashes, loops or runs away.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace larder::sim;
  if (size == 0) return 0;
  const TraceFormat formats[] = {TraceFormat::kLirs, TraceFormat::kArc, TraceFormat::kCache2k,
                                 TraceFormat::kInt64, TraceFormat::kAdaptSize};
  const TraceFormat format = formats[data[0] % 5];
  std::vector<uint8_t> copy(data + 1, data + size);
  FILE* f = fmemopen(copy.empty() ? nullptr : copy.data(), copy.size(), "rb");
  if (f == nullptr) return 0;
  auto reader = TraceReader::FromStream(f, "fuzz", format);
  std::vector<Request> batch;
  uint64_t total = 0;
  while (reader->Next(&batch, 4096)) {
    total += batch.size();
    for (const Request& r : batch) {
      if (r.weight == 0) std::abort();  // every request weighs at least 1
    }
    // An input of n bytes holds at most n/2 lines, each at most kMaxArcCount requests.
    if (total > (size / 2 + 1) * TraceReader::kMaxArcCount) std::abort();
  }
  if (!reader->status().ok() && reader->status().message().find("fuzz") == std::string::npos) {
    std::abort();  // errors name the input
  }
  return 0;
}
