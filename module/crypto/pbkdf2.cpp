#include "crypto/pbkdf2.hpp"

#include <openssl/evp.h>

#include <climits>
#include <string>

#include "crypto/error.hpp"

namespace smtpn::crypto {

Secret pbkdf2_hmac(Digest digest, std::string_view password, std::string_view salt,
                   std::uint32_t iterations) {
  if (iterations == 0 || iterations > static_cast<std::uint32_t>(INT_MAX) || password.size() > INT_MAX ||
      salt.size() > INT_MAX)
    throw CryptoError(CryptoError::Kind::kFailed, "PBKDF2 parameters out of range");
  const EVP_MD* md = digest == Digest::kSha256 ? EVP_sha256()
                     : digest == Digest::kSha1 ? EVP_sha1()
                                               : EVP_md5();
  std::string out(digest_size(digest), '\0');
  // A NULL pointer with length 0 is fine here, but keep it a valid one for clarity.
  static const char kEmpty = 0;
  if (PKCS5_PBKDF2_HMAC(password.empty() ? &kEmpty : password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.empty() ? &kEmpty : salt.data()),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), md,
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    wipe(out);
    throw CryptoError::from_openssl(CryptoError::Kind::kFailed, "PBKDF2 failed");
  }
  return Secret{std::move(out)};
}

}  // namespace smtpn::crypto
