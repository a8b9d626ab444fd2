// Local locks: the LockService contract (locks_contract.h) with a ManualClock, and how extend
// moves the deadline on that clock.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "coord_testing.h"
#include "larder/coord.h"
#include "locks_contract.h"

namespace larder {
namespace {
using testing::kSec;
}  // namespace

TEST_CASE("Locks (local): one holder at a time; release needs the holder's token") {
  contract::OneHolderAtATime(*NewLocalLockService(std::make_shared<ManualClock>()));
}

TEST_CASE("Locks (local): expiry frees a lock; extend keeps it; stale tokens free no new holder") {
  auto clock = std::make_shared<ManualClock>();
  auto locks = NewLocalLockService(clock);
  const std::string first = **locks->AcquireLock("job", 10 * kSec);
  clock->Advance(8 * kSec);
  CHECK(*locks->ExtendLock("job", first, 10 * kSec));  // now until 18 s
  clock->Advance(8 * kSec);
  contract::ExpiredLockIsTakenOver(*locks, first, [&] { clock->Advance(3 * kSec); });  // 19 s
}

TEST_CASE("Locks (local): tokens do not repeat; threads never hold a lock together") {
  contract::TokensDoNotRepeatAndHoldersNeverOverlap(*NewLocalLockService(), /*tokens=*/1000,
                                                    /*tries=*/2000);
}

}  // namespace larder
