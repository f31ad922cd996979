// PBKDF2 (RFC 8018) with HMAC over a SHA digest: SCRAM's Hi() function, through OpenSSL.
#pragma once

#include <cstdint>
#include <string_view>

#include "crypto/hmac.hpp"
#include "crypto/secret.hpp"

namespace smtpn::crypto {

// digest_size(digest) bytes derived from PASSWORD and SALT with ITERATIONS rounds (>= 1).
// The result is as good as the password to an attacker: it comes back as a Secret.
// Throws CryptoError if OpenSSL refuses.
Secret pbkdf2_hmac(Digest digest, std::string_view password, std::string_view salt, std::uint32_t iterations);

}  // namespace smtpn::crypto
