// libFuzzer target for sasl::cram_md5_response: any challenge text is answered or refused
// without crashing; refusals match the base64 decoder's verdict and the size bound; answers are
// base64 of "user <32 lowercase hex digits>" carrying HMAC-MD5(password, decoded challenge).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/base64.hpp"
#include "crypto/hex.hpp"
#include "crypto/hmac.hpp"
#include "crypto/secret.hpp"
#include "sasl/cram_md5.hpp"
#include "property.hpp"

namespace {

using smtpn::sasl::SaslError;

constexpr std::string_view kUser = "tim@example.org";

using smtpn::fuzz::require;

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const smtpn::crypto::Secret password{std::string_view("tanstaaftanstaaf")};
  const std::string_view challenge(reinterpret_cast<const char*>(data), size);

  const auto response = smtpn::sasl::cram_md5_response(kUser, password, challenge);

  if (size > smtpn::sasl::kMaxCramChallengeBase64) {
    require(!response.ok() && response.error().kind == SaslError::Kind::kTooLarge,
            "an oversize challenge is refused as too large");
    return 0;
  }

  const auto decoded = smtpn::crypto::base64_decode(challenge);
  if (!decoded) {
    require(!response.ok(), "invalid base64 is refused");
    require(response.error().kind == SaslError::Kind::kBadChallenge, "invalid base64 is a bad challenge");
    require(response.error().offset == decoded.error().offset, "the refusal names the decoder's offset");
    return 0;
  }

  require(response.ok(), "a valid challenge is answered");
  const auto plain = smtpn::crypto::base64_decode(response.value().expose());
  require(plain.ok(), "the response is valid base64");
  const std::string_view text = plain.value();
  require(text.size() == kUser.size() + 1 + 32, "the response is \"user <32 hex>\"");
  require(text.substr(0, kUser.size()) == kUser && text[kUser.size()] == ' ',
          "the response starts with the user");
  const std::string_view hex = text.substr(kUser.size() + 1);
  require(is_lower_hex(hex), "the digest is lowercase hex");
  require(hex == smtpn::crypto::hex_encode(smtpn::crypto::hmac_md5(password.expose(), decoded.value())),
          "the digest is HMAC-MD5(password, decoded challenge)");
  return 0;
}
