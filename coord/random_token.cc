// NewRandomToken: 128 bits from getrandom(2) as hex.
#include "random_token.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace larder::coord {

Result<std::string> NewRandomToken() {
  unsigned char bytes[16];
  size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Internal(fmt::format("getrandom failed: {}", std::strerror(errno)));
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token(2 * sizeof bytes, '0');
  for (size_t i = 0; i < sizeof bytes; ++i) {
    token[2 * i] = kHex[bytes[i] >> 4];
    token[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return token;
}

}  // namespace larder::coord
