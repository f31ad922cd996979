// Catch2 prints SaslError kinds by name in failed checks (shared by the SASL test files).
#pragma once

#include <string>

#include "catch.hpp"
#include "sasl/error.hpp"

namespace Catch {
template <>
struct StringMaker<smtpn::sasl::SaslError::Kind> {
  static std::string convert(smtpn::sasl::SaslError::Kind kind) {
    using K = smtpn::sasl::SaslError::Kind;
    switch (kind) {
      case K::kBadChallenge: return "kBadChallenge";
      case K::kTooLarge: return "kTooLarge";
      case K::kOutOfBounds: return "kOutOfBounds";
      case K::kServerNotVerified: return "kServerNotVerified";
      case K::kServerError: return "kServerError";
      case K::kBadCredentials: return "kBadCredentials";
    }
    return "Kind(" + std::to_string(static_cast<int>(kind)) + ")";
  }
};
}  // namespace Catch
