// Building command lines: every argument checked for CR, LF and NUL before anything is
// written, ESMTP parameters (SIZE, BODY, SMTPUTF8, DSN) only when offered.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "smtp/capabilities.hpp"
#include "smtp/options.hpp"

namespace smtpn::smtp {

// Throws SmtpError(kInvalidArgument) for anything that must not reach the wire.
void validate_session(const SessionOptions& options);
void validate_mail(const MailOptions& mail);

bool is_ascii(std::string_view s);
std::string xtext_encode(std::string_view s);  // RFC 3461 §4

struct MessageFacts {
  std::size_t size;  // normalised size
  bool eight_bit;
};

// "MAIL FROM:<from> [SIZE=n] [BODY=8BITMIME] [SMTPUTF8] [RET=] [ENVID=]".
std::string mail_command(const MailOptions& mail, const Capabilities& caps, const MessageFacts& facts);
std::string rcpt_command(const std::string& recipient, const MailOptions& mail, const Capabilities& caps);

}  // namespace smtpn::smtp
