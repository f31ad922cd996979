// Unpredictable bytes from OpenSSL's CSPRNG (client nonces).
#pragma once

#include <cstddef>
#include <string>

namespace smtpn::crypto {

// COUNT random bytes. Throws CryptoError if the generator is not seeded or fails.
std::string random_bytes(std::size_t count);

}  // namespace smtpn::crypto
