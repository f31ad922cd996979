#include "smtp/commands.hpp"

#include <algorithm>

#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw SmtpError(SmtpError::Kind::kInvalidArgument, message);
}

void check_line_safe(std::string_view what, std::string_view value) {
  const auto bad = value.find_first_of(std::string_view("\r\n\0", 3));
  if (bad != std::string_view::npos) {
    const char* name = value[bad] == '\r' ? "CR" : value[bad] == '\n' ? "LF" : "NUL";
    invalid(std::string(what) + " contains " + name + " at offset " + std::to_string(bad) +
            "; refusing to send it (command injection)");
  }
}

void check_address(std::string_view what, std::string_view address) {
  check_line_safe(what, address);
  if (address.find_first_of("<> \t") != std::string_view::npos)
    invalid(std::string(what) + " \"" + std::string(address) + "\" contains '<', '>' or white space");
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    out.emplace_back(s.substr(start, comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

}  // namespace

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

std::string xtext_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= '!' && c <= '~' && c != '+' && c != '=') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('+');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

void validate_session(const SessionOptions& options) {
  if (options.host.empty()) invalid("no SMTP server given (:host)");
  check_line_safe("the host name", options.host);
  check_line_safe("the HELO name", options.helo);
  if (options.helo.empty() || options.helo.find_first_of(" \t") != std::string::npos)
    invalid("the HELO name \"" + options.helo + "\" is empty or contains white space");
  if (options.user.find('\0') != std::string::npos) invalid("the user name contains NUL");
  // Written so that NaN fails too: it is the timeout, not an int cast, that is checked here.
  if (!(options.timeout_seconds >= kMinTimeoutSeconds && options.timeout_seconds <= kMaxTimeoutSeconds))
    invalid("the timeout must be a number of seconds from 0.001 to 86400");
  if (options.limits.max_line == 0 || options.limits.max_lines == 0)
    invalid("the reply limits must allow at least one line of one byte");
}

void validate_mail(const MailOptions& mail) {
  check_address("the sender", mail.from);
  if (mail.recipients.empty()) invalid("no recipients given");
  for (const auto& r : mail.recipients) {
    if (r.empty()) invalid("an empty recipient address");
    check_address("the recipient", r);
  }
  check_line_safe("the DSN NOTIFY value", mail.dsn_notify);
  check_line_safe("the DSN RET value", mail.dsn_ret);
  check_line_safe("the DSN ENVID", mail.envid);
  if (!mail.dsn_notify.empty()) {
    const auto parts = split_commas(mail.dsn_notify);
    const bool never = parts.size() == 1 && parts[0] == "NEVER";
    const bool valid_list = std::all_of(parts.begin(), parts.end(), [](const std::string& p) {
      return p == "SUCCESS" || p == "FAILURE" || p == "DELAY";
    });
    if (!never && !valid_list)
      invalid("DSN NOTIFY must be NEVER or a list of SUCCESS, FAILURE and DELAY, not \"" + mail.dsn_notify +
              "\"");
  }
  if (!mail.dsn_ret.empty() && mail.dsn_ret != "FULL" && mail.dsn_ret != "HDRS")
    invalid("DSN RET must be FULL or HDRS, not \"" + mail.dsn_ret + "\"");
  if (mail.envid.size() > 100) invalid("the DSN ENVID is longer than 100 characters");
}

std::string mail_command(const MailOptions& mail, const Capabilities& caps, const MessageFacts& facts) {
  std::string cmd = "MAIL FROM:<" + mail.from + ">";
  if (caps.size_limit) cmd += " SIZE=" + std::to_string(facts.size);
  if (facts.eight_bit && caps.eight_bit_mime) cmd += " BODY=8BITMIME";
  const bool needs_utf8 =
      !is_ascii(mail.from) || std::any_of(mail.recipients.begin(), mail.recipients.end(),
                                          [](const std::string& r) { return !is_ascii(r); });
  if (needs_utf8) {
    if (!caps.smtputf8)
      throw SmtpError(SmtpError::Kind::kPermanent,
                      "an address is not ASCII and the server does not offer SMTPUTF8 (RFC 6531)");
    cmd += " SMTPUTF8";
  }
  if (caps.dsn) {
    if (!mail.dsn_ret.empty()) cmd += " RET=" + mail.dsn_ret;
    if (!mail.envid.empty()) cmd += " ENVID=" + xtext_encode(mail.envid);
  }
  return cmd;
}

std::string rcpt_command(const std::string& recipient, const MailOptions& mail, const Capabilities& caps) {
  std::string cmd = "RCPT TO:<" + recipient + ">";
  if (caps.dsn && !mail.dsn_notify.empty()) cmd += " NOTIFY=" + mail.dsn_notify;
  return cmd;
}

}  // namespace smtpn::smtp
