// Catch2 prints an SmtpError::Kind by its name, in the unit tests and the attack suite alike.
#pragma once

#include <string>

#include "catch.hpp"
#include "smtp/error.hpp"

namespace smtpn::test {

inline const char* kind_name(smtp::SmtpError::Kind kind) {
  using K = smtp::SmtpError::Kind;
  switch (kind) {
    case K::kInvalidArgument: return "kInvalidArgument";
    case K::kConnection: return "kConnection";
    case K::kTls: return "kTls";
    case K::kAuth: return "kAuth";
    case K::kProtocol: return "kProtocol";
    case K::kTimeout: return "kTimeout";
    case K::kTemporary: return "kTemporary";
    case K::kPermanent: return "kPermanent";
    case K::kInterrupted: return "kInterrupted";
  }
  return "Kind(?)";
}

}  // namespace smtpn::test

namespace Catch {
template <>
struct StringMaker<smtpn::smtp::SmtpError::Kind> {
  static std::string convert(smtpn::smtp::SmtpError::Kind kind) { return smtpn::test::kind_name(kind); }
};
}  // namespace Catch
