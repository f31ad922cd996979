// CRAM-MD5 (RFC 2195): the response to a server challenge, as a pure function, no I/O.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "crypto/secret.hpp"
#include "sasl/error.hpp"

namespace smtpn::sasl {

// Longest base64 challenge accepted; RFC 2195 challenges are a msg-id of a few dozen bytes.
inline constexpr std::size_t kMaxCramChallengeBase64 = 4096;

// CHALLENGE_BASE64 is the text after "334 "; the result is the base64 line to send back:
// base64(USER " " lowercase-hex(HMAC-MD5(PASSWORD, challenge))).
Result<crypto::Secret, SaslError> cram_md5_response(std::string_view user, const crypto::Secret& password,
                                                    std::string_view challenge_base64);

}  // namespace smtpn::sasl
