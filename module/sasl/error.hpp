// The SASL layer's one error type: a server challenge we cannot or must not answer.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace smtpn::sasl {

struct SaslError {
  enum class Kind {
    kBadChallenge,  // not valid base64, or not what the mechanism expects
    kTooLarge,      // beyond the bound we accept from a server
  };
  Kind kind;
  std::string message;
  std::optional<std::size_t> offset = std::nullopt;  // where in the challenge text, when known
};

}  // namespace smtpn::sasl
