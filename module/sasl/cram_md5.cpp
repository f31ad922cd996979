#include "sasl/cram_md5.hpp"

#include "crypto/base64.hpp"
#include "crypto/hex.hpp"
#include "crypto/hmac.hpp"

namespace smtpn::sasl {

Result<crypto::Secret, SaslError> cram_md5_response(std::string_view user, const crypto::Secret& password,
                                                    std::string_view challenge_base64) {
  if (challenge_base64.size() > kMaxCramChallengeBase64)
    return Unexpected{SaslError{SaslError::Kind::kTooLarge, "CRAM-MD5 challenge of " +
                                                                std::to_string(challenge_base64.size()) +
                                                                " characters exceeds the limit of " +
                                                                std::to_string(kMaxCramChallengeBase64)}};
  auto challenge = crypto::base64_decode(challenge_base64);
  if (!challenge)
    return Unexpected{SaslError{SaslError::Kind::kBadChallenge,
                                "CRAM-MD5 challenge is not valid base64: " + challenge.error().message(),
                                challenge.error().offset}};

  // The digest is as good as the password to an offline guesser: keep it wiped.
  std::string plain;
  plain.reserve(user.size() + 1 + 32);
  plain.append(user);
  plain.push_back(' ');
  std::string digest = crypto::hmac_md5(password.expose(), challenge.value());
  std::string digest_hex = crypto::hex_encode(digest);
  plain.append(digest_hex);
  crypto::Secret response{crypto::base64_encode(plain)};
  crypto::wipe(digest);
  crypto::wipe(digest_hex);
  crypto::wipe(plain);
  return response;
}

}  // namespace smtpn::sasl
