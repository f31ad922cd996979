// Strict UTF-8 validation (RFC 3629): what may become a multibyte Lisp string as it is.
// Server bytes that fail it are handed to Lisp as unibyte strings instead.
#pragma once

#include <string_view>

namespace smtpn {

// True when BYTES is well-formed UTF-8: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence.
bool is_valid_utf8(std::string_view bytes);

}  // namespace smtpn
