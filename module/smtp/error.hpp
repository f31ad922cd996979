// The SMTP layer's one error type. Kinds mirror the Lisp error hierarchy; replies that
// caused the error travel with it so Lisp can tell a 4xx from a 5xx without parsing text.
#pragma once

#include <stdexcept>
#include <string>

namespace smtpn::smtp {

class SmtpError : public std::runtime_error {
 public:
  enum class Kind {
    kInvalidArgument,  // a caller's value we refuse to put on the wire (CR/LF/NUL, ...)
    kConnection,       // cannot connect, or the connection dropped
    kTls,              // TLS required but unavailable, handshake or certificate failure
    kAuth,             // authentication refused, impossible or unsafe
    kProtocol,         // the server broke the protocol, or sent more than we accept
    kTimeout,          // a phase's deadline passed
    kTemporary,        // a 4xx reply
    kPermanent,        // a 5xx reply
    kInterrupted,      // C-g or a cancelled job
  };

  SmtpError(Kind kind, const std::string& message, int code = 0, std::string enhanced = {},
            std::string reply_text = {})
      : std::runtime_error(message),
        kind_(kind),
        code_(code),
        enhanced_(std::move(enhanced)),
        reply_text_(std::move(reply_text)) {}

  Kind kind() const { return kind_; }
  int code() const { return code_; }  // 0 when no reply is involved
  const std::string& enhanced_status() const { return enhanced_; }
  const std::string& reply_text() const { return reply_text_; }

 private:
  Kind kind_;
  int code_;
  std::string enhanced_;
  std::string reply_text_;
};

}  // namespace smtpn::smtp
