// The SASL layer's one error type: a server challenge we cannot or must not answer, or an
// exchange whose outcome we must not trust.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace smtpn::sasl {

struct SaslError {
  enum class Kind {
    kBadChallenge,       // not valid base64, or not what the mechanism expects
    kTooLarge,           // beyond the bound we accept from a server
    kOutOfBounds,        // a parameter outside what we accept (SCRAM iteration count)
    kServerNotVerified,  // the server never proved it knows the password (or proved it wrongly)
    kServerError,        // the server reported a mechanism-level error (SCRAM e=, OAuth JSON)
    kBadCredentials,     // the user name or password cannot be used (SASLprep prohibits it)
  };
  Kind kind;
  std::string message;                               // never carries secret material
  std::optional<std::size_t> offset = std::nullopt;  // where in the challenge text, when known
};

}  // namespace smtpn::sasl
