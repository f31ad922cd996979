#include "crypto/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto/error.hpp"
#include "crypto/openssl_ptr.hpp"

namespace smtpn::crypto {
namespace {

// Fetched once per process: provider lookups are not free, and EVP_MD objects are shareable.
const EVP_MD* algorithm(Digest digest) {
  static const EvpMdPtr md5{EVP_MD_fetch(nullptr, "MD5", nullptr)};
  static const EvpMdPtr sha1{EVP_MD_fetch(nullptr, "SHA1", nullptr)};
  static const EvpMdPtr sha256{EVP_MD_fetch(nullptr, "SHA256", nullptr)};
  const EVP_MD* md = nullptr;
  switch (digest) {
    case Digest::kMd5: md = md5.get(); break;
    case Digest::kSha1: md = sha1.get(); break;
    case Digest::kSha256: md = sha256.get(); break;
  }
  if (!md) throw CryptoError::from_openssl(CryptoError::Kind::kUnavailable, "digest is not available");
  return md;
}

}  // namespace

namespace {

void digest_to(char* out, std::size_t size, Digest digest, std::string_view data) {
  unsigned int written = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out), &written, algorithm(digest),
                 nullptr) != 1 ||
      written != size)
    throw CryptoError::from_openssl(CryptoError::Kind::kFailed, "digest failed");
}

}  // namespace

std::string hash(Digest digest, std::string_view data) {
  std::string out(digest_size(digest), '\0');
  digest_to(out.data(), out.size(), digest, data);
  return out;
}

Secret hash_secret(Digest digest, std::string_view data) {
  Secret out = Secret::of_size(digest_size(digest));
  digest_to(out.data(), out.size(), digest, data);
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace smtpn::crypto
