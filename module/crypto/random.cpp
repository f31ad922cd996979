#include "crypto/random.hpp"

#include <openssl/rand.h>

#include <climits>

#include "crypto/error.hpp"

namespace smtpn::crypto {

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > INT_MAX ||
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1)
    throw CryptoError::from_openssl(CryptoError::Kind::kFailed, "the random generator failed");
  return out;
}

}  // namespace smtpn::crypto
