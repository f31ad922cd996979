// SASLprep (RFC 4013) of user names and passwords, whole: mapping, NFKC, prohibited output,
// bidi and unassigned code points, through ICU's RFC 4013 profile; the guard the mechanisms
// keep on what they are given; SCRAM's saslname escaping.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "crypto/secret.hpp"
#include "sasl/error.hpp"

namespace smtpn::sasl {

// TEXT (UTF-8) prepared by SASLprep as a "query" (RFC 3454 §7: a client presenting
// credentials may use code points unassigned in Unicode 3.2; a server storing them may not):
// non-ASCII spaces become SPACE, table B.1 goes, NFKC, then refused when the result holds
// a prohibited character (RFC 4013 §2.3) or breaks the bidi rule (§2.4). Also refused:
// invalid UTF-8, and an empty result when REQUIRED. Errors are kBadCredentials naming WHAT
// ("password"), never the text. ASCII text only has its control characters checked (SASLprep
// changes no ASCII character), so the common case never leaves our own wiped buffers.
Result<crypto::Secret, SaslError> saslprep(std::string_view text, std::string_view what, bool required = true);

// The mechanisms' own guard on credentials they are handed: an error when TEXT is not valid
// UTF-8, holds a control character (RFC 4013 tables C.2.1 and C.2.2), or is empty while
// REQUIRED. It prepares nothing: smtp::Session hands over saslprep()'s output.
std::optional<SaslError> check_prepared(std::string_view text, std::string_view what, bool required = true);

// RFC 5802 §5.1 saslname: "=" as "=3D" and "," as "=2C".
std::string saslname(std::string_view text);

// Server text for an error message: printable ASCII only, at most MAX characters.
std::string printable_excerpt(std::string_view text, std::size_t max = 200);

}  // namespace smtpn::sasl
