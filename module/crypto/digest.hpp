// One-shot message digests (the H() of SCRAM and DIGEST-MD5) over OpenSSL's EVP interface.
#pragma once

#include <string>
#include <string_view>

#include "crypto/hmac.hpp"
#include "crypto/secret.hpp"

namespace smtpn::crypto {

// Raw digest bytes (digest_size(digest) of them). Throws CryptoError if OpenSSL refuses.
std::string hash(Digest digest, std::string_view data);
// The same, for a digest that is itself secret (DIGEST-MD5's H(user:realm:password)).
Secret hash_secret(Digest digest, std::string_view data);

// Compares in time independent of where the inputs differ (signatures, proofs).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace smtpn::crypto
