// Base64 for test scripts: encode, and decode to text or "<not base64>" (never throws and
// never REQUIREs, so server threads may use it; a mismatch still fails the comparison).
#pragma once

#include <string>
#include <string_view>

#include "crypto/base64.hpp"

namespace smtpn::test {

inline std::string b64(std::string_view bytes) { return crypto::base64_encode(bytes); }

inline std::string unb64(std::string_view text) {
  auto decoded = crypto::base64_decode(text);
  return decoded ? decoded.value() : std::string("<not base64>");
}

}  // namespace smtpn::test
