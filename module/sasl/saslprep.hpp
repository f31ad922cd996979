// The part of SASLprep (RFC 4013) the C++ side does, and SCRAM's saslname escaping.
// Mapping and NFKC normalisation of non-ASCII text is the Lisp layer's job
// (`ucs-normalize-NFKC-string` before the call); here we refuse what must never be sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "sasl/error.hpp"

namespace smtpn::sasl {

// An error when TEXT is not valid UTF-8 or holds a control character (RFC 4013 §2.3,
// tables C.2.1 and C.2.2), or is empty while REQUIRED. WHAT names it ("user name") in the
// message; the text itself never appears there.
std::optional<SaslError> check_prepared(std::string_view text, std::string_view what, bool required = true);

// RFC 5802 §5.1 saslname: "=" as "=3D" and "," as "=2C".
std::string saslname(std::string_view text);

// Server text for an error message: printable ASCII only, at most MAX characters.
std::string printable_excerpt(std::string_view text, std::size_t max = 200);

}  // namespace smtpn::sasl
