// NewRandomToken: unguessable identifiers (lock tokens, session ids) from the kernel's CSPRNG.
#pragma once

#include <string>

#include "larder/status.h"

namespace larder::coord {

// 128 bits from getrandom(2), as 32 lowercase hex digits. Internal when the kernel refuses.
Result<std::string> NewRandomToken();

}  // namespace larder::coord
