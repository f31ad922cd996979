// libFuzzer target for crypto::base64: the strict decoder accepts only canonical text (so what it
// accepts re-encodes to exactly the input), reports offsets inside the input, agrees with
// OpenSSL on what it accepts, and the encoder's output always decodes back.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/base64.hpp"
#include "property.hpp"

namespace {

using smtpn::crypto::Base64Error;

using smtpn::fuzz::require;

std::string openssl_encode(std::string_view bytes) {
  std::string out(smtpn::crypto::base64_encoded_size(bytes.size()) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void check_decode(std::string_view input) {
  const auto decoded = smtpn::crypto::base64_decode(input);
  if (!decoded) {
    const Base64Error& e = decoded.error();
    if (e.kind == Base64Error::Kind::kBadLength)
      require(e.offset == input.size(), "a length error points at the end of the input");
    else
      require(e.offset < input.size(), "an error offset points inside the input");
    require(!e.message().empty(), "an error has a message");
    return;
  }
  const std::string& bytes = decoded.value();
  require(smtpn::crypto::base64_encode(bytes) == input, "accepted text is the canonical encoding");
  require(bytes.size() <= input.size() / 4 * 3, "decoded size fits the input");

  // OpenSSL's decoder is lenient, but on canonical text it must produce the same bytes (plus a
  // zero byte for each '=', which it does not strip).
  std::string reference(input.size() / 4 * 3 + 1, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(reference.data()),
                      reinterpret_cast<const unsigned char*>(input.data()), static_cast<int>(input.size()));
  require(n == static_cast<int>(input.size() / 4 * 3), "OpenSSL decodes what we accept");
  require(std::string_view(reference).substr(0, bytes.size()) == bytes, "OpenSSL decodes to the same bytes");
}

void check_encode(std::string_view input) {
  const std::string text = smtpn::crypto::base64_encode(input);
  require(text.size() == smtpn::crypto::base64_encoded_size(input.size()), "encoded size is exact");
  require(text == openssl_encode(input), "encoding matches OpenSSL's EVP_EncodeBlock");
  const auto back = smtpn::crypto::base64_decode(text);
  require(back.ok(), "the decoder accepts the encoder's output");
  require(back.value() == input, "decode(encode(x)) == x");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_decode(input);
  check_encode(input);
  return 0;
}
