#include "crypto/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "crypto/error.hpp"
#include "crypto/openssl_ptr.hpp"

namespace smtpn::crypto {

namespace {

const char* digest_name(Digest digest) {
  switch (digest) {
    case Digest::kMd5: return "MD5";
    case Digest::kSha1: return "SHA1";
    case Digest::kSha256: return "SHA256";
  }
  return "";
}

// Fetching an algorithm walks OpenSSL's provider tables; do it once per process.
// EVP_MAC objects are reference counted and safe to share between threads.
EVP_MAC* hmac_algorithm() {
  static const EvpMacPtr mac{EVP_MAC_fetch(nullptr, "HMAC", nullptr)};
  if (!mac) throw CryptoError::from_openssl(CryptoError::Kind::kUnavailable, "HMAC is not available");
  return mac.get();
}

}  // namespace

std::size_t digest_size(Digest digest) {
  switch (digest) {
    case Digest::kMd5: return 16;
    case Digest::kSha1: return 20;
    case Digest::kSha256: return 32;
  }
  return 0;
}

std::string hmac(Digest digest, std::string_view key, std::string_view data) {
  EvpMacCtxPtr ctx{EVP_MAC_CTX_new(hmac_algorithm())};
  if (!ctx) throw CryptoError::from_openssl(CryptoError::Kind::kFailed, "cannot allocate an HMAC context");

  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(digest_name(digest)), 0),
      OSSL_PARAM_construct_end(),
  };
  // EVP_MAC_init refuses a NULL key even when its length is 0; any valid pointer will do.
  static const unsigned char kEmpty = 0;
  const auto* key_bytes = key.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_MAC_init(ctx.get(), key_bytes, key.size(), params) != 1)
    throw CryptoError::from_openssl(CryptoError::Kind::kUnavailable,
                                    std::string("HMAC-") + digest_name(digest) + " is not available");
  if (EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    throw CryptoError::from_openssl(CryptoError::Kind::kFailed, "HMAC update failed");

  std::string out(digest_size(digest), '\0');
  std::size_t written = 0;
  if (EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &written, out.size()) != 1 ||
      written != out.size())
    throw CryptoError::from_openssl(CryptoError::Kind::kFailed, "HMAC final failed");
  return out;
}

}  // namespace smtpn::crypto
