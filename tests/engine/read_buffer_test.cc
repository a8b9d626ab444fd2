// ReadBuffer: drains what was recorded since the last drain, sweeps clear everything.
#include <doctest/doctest.h>

#include <vector>

#include "engine/read_buffer.h"

namespace larder {

TEST_CASE("ReadBuffer: Drain returns new records once, in order") {
  ReadBuffer b;
  for (uint64_t v = 1; v <= 5; ++v) CHECK_FALSE(b.Record(v));
  std::vector<uint64_t> seen;
  b.Drain([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen == std::vector<uint64_t>{1, 2, 3, 4, 5});
  seen.clear();
  b.Drain([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen.empty());
}

TEST_CASE("ReadBuffer: overflow keeps the newest records and asks for a drain on wrap") {
  ReadBuffer b;
  int wraps = 0;
  for (uint64_t v = 1; v <= 40; ++v) wraps += b.Record(v) ? 1 : 0;
  CHECK(wraps == 2);
  std::vector<uint64_t> seen;
  b.Drain([&](uint64_t v) { seen.push_back(v); });
  REQUIRE(seen.size() == ReadBuffer::kSlots);
  CHECK(seen.front() == 25);
  CHECK(seen.back() == 40);
}

TEST_CASE("ReadBuffer: Sweep hands over undrained records once and clears every slot") {
  ReadBuffer b;
  for (uint64_t v = 1; v <= 20; ++v) b.Record(v);
  std::vector<uint64_t> seen;
  b.Sweep([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen.size() == ReadBuffer::kSlots);
  seen.clear();
  // Records already drained are not handed over again by a sweep (no double-counted reads).
  for (uint64_t v = 1; v <= 5; ++v) b.Record(v);
  b.Drain([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen.size() == 5);
  b.Record(6);
  seen.clear();
  b.Sweep([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen == std::vector<uint64_t>{6});
  seen.clear();
  b.Sweep([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen.empty());
  b.Drain([&](uint64_t v) { seen.push_back(v); });
  CHECK(seen.empty());
}

}  // namespace larder
