// HMAC (RFC 2104) over any OpenSSL digest, through OpenSSL 3's EVP_MAC interface.
// MD5 is what CRAM-MD5 needs; SHA-1 and SHA-256 are there for SCRAM.
#pragma once

#include <string>
#include <string_view>

namespace smtpn::crypto {

enum class Digest { kMd5, kSha1, kSha256 };

std::size_t digest_size(Digest digest);

// Raw MAC bytes (digest_size(digest) of them). Throws CryptoError if OpenSSL refuses.
std::string hmac(Digest digest, std::string_view key, std::string_view data);

inline std::string hmac_md5(std::string_view key, std::string_view data) {
  return hmac(Digest::kMd5, key, data);
}

}  // namespace smtpn::crypto
