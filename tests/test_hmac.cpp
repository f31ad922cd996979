// crypto::hmac: the RFC 2202 HMAC-MD5 test cases, RFC 2202/4231 vectors for SHA-1 and SHA-256,
// and the empty key / empty data edge cases.
#include <cstddef>
#include <string>

#include "catch.hpp"
#include "crypto/hex.hpp"
#include "crypto/hmac.hpp"

using namespace smtpn::crypto;  // Digest, digest_size, hex_encode, hmac, hmac_md5

namespace {

struct Vector {
  std::string name;
  std::string key;
  std::string data;
  std::string digest_hex;
};

std::string bytes_1_to_25() {
  std::string key;
  for (int b = 1; b <= 25; ++b) key.push_back(static_cast<char>(b));
  return key;
}

// HMAC with DIGEST (SIZE bytes) of V's key and data is V's digest.
void check_vector(Digest digest, std::size_t size, const Vector& v) {
  CAPTURE(v.name);
  const std::string mac = hmac(digest, v.key, v.data);
  CHECK(mac.size() == size);
  CHECK(hex_encode(mac) == v.digest_hex);
}

}  // namespace

TEST_CASE("HMAC-MD5 matches RFC 2202 test cases 1 to 7") {
  const auto v = GENERATE(values<Vector>({
      {"1", std::string(16, '\x0b'), "Hi There", "9294727a3638bb1c13f48ef8158bfc9d"},
      {"2", "Jefe", "what do ya want for nothing?", "750c783e6ab0b503eaa86e310a5db738"},
      {"3", std::string(16, '\xaa'), std::string(50, '\xdd'), "56be34521d144c88dbb8c733f0e8b3f6"},
      {"4", bytes_1_to_25(), std::string(50, '\xcd'), "697eaf0aca3a3aea3a75164746ffaa79"},
      {"5", std::string(16, '\x0c'), "Test With Truncation", "56461ef2342edc00f9bab995690efd4c"},
      {"6", std::string(80, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd"},
      {"7", std::string(80, '\xaa'),
       "Test Using Larger Than Block-Size Key and Larger Than One Block-Size Data",
       "6f630fad67cda0ee1fb1f562db3aa53e"},
  }));
  CAPTURE(v.name);
  const std::string mac = hmac_md5(v.key, v.data);
  CHECK(mac.size() == 16);
  CHECK(hex_encode(mac) == v.digest_hex);
  CHECK(hmac(Digest::kMd5, v.key, v.data) == mac);
}

TEST_CASE("HMAC-MD5 truncated to 96 bits matches RFC 2202 test case 5") {
  const std::string mac = hmac_md5(std::string(16, '\x0c'), "Test With Truncation");
  CHECK(hex_encode(mac.substr(0, 12)) == "56461ef2342edc00f9bab995");
}

TEST_CASE("HMAC-SHA1 matches RFC 2202 vectors") {
  const auto v = GENERATE(values<Vector>({
      {"1", std::string(20, '\x0b'), "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
      {"2", "Jefe", "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"6", std::string(80, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "aa4ae5e15272d00e95705637ce8a3b55ed402112"},
  }));
  check_vector(Digest::kSha1, 20, v);
}

TEST_CASE("HMAC-SHA256 matches RFC 4231 vectors") {
  const auto v = GENERATE(values<Vector>({
      {"1", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"3", std::string(20, '\xaa'), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"6", std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
  }));
  check_vector(Digest::kSha256, 32, v);
}

TEST_CASE("HMAC works with an empty key and with empty data") {
  SECTION("empty key and empty data") {
    CHECK(hex_encode(hmac(Digest::kMd5, "", "")) == "74e6f7298a9c2d168935f58c001bad88");
    CHECK(hex_encode(hmac(Digest::kSha1, "", "")) == "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
    CHECK(hex_encode(hmac(Digest::kSha256, "", "")) ==
          "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  }
  SECTION("empty key only") {
    CHECK(hex_encode(hmac_md5("", "Hi There")) == "72c33c78cac0b7a581ac263a344ed01d");
  }
  SECTION("empty data only") {
    CHECK(hex_encode(hmac_md5("Jefe", "")) == "60b57da4237ed7c91b475eddf0e798d3");
  }
}

TEST_CASE("HMAC keys and data may contain NUL bytes") {
  // A NUL-terminated API would see "" for both and return HMAC("", "").
  const std::string key("\0key", 4);
  const std::string data("\0data", 5);
  CHECK(hex_encode(hmac_md5(key, data)) == "fd48075144c694b18acbdf5a734cfe15");
  CHECK(hex_encode(hmac_md5("key", "data")) == "9d5c73ef85594d34ec4438b7c97e51d8");
}

TEST_CASE("digest_size gives the MAC length of each digest") {
  CHECK(digest_size(Digest::kMd5) == 16);
  CHECK(digest_size(Digest::kSha1) == 20);
  CHECK(digest_size(Digest::kSha256) == 32);
  for (const auto d : {Digest::kMd5, Digest::kSha1, Digest::kSha256})
    CHECK(hmac(d, "k", "d").size() == digest_size(d));
}
