// The SMTP layer's one error type. Kinds mirror the Lisp error hierarchy; replies that
// caused the error travel with it so Lisp can tell a 4xx from a 5xx without parsing text.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "net/certificate.hpp"

namespace smtpn::smtp {

// What the user should change when the error is a setting's fault, not the server's.
enum class Hint {
  kNone,
  kUseStartTls,     // implicit TLS against a port that talks plain SMTP (and STARTTLS)
  kUseImplicitTls,  // plain/STARTTLS against a port that waits for a TLS ClientHello
};
// "use-starttls", "use-ssl" (the Lisp symbols of :hint), "" for kNone.
inline const char* hint_name(Hint hint) {
  switch (hint) {
    case Hint::kNone: return "";
    case Hint::kUseStartTls: return "use-starttls";
    case Hint::kUseImplicitTls: return "use-ssl";
  }
  return "";
}

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

  // The refused server certificate, when that is the error.
  const std::optional<net::CertificateFailure>& certificate() const { return certificate_; }
  SmtpError& set_certificate(net::CertificateFailure certificate) {
    certificate_ = std::move(certificate);
    return *this;
  }
  Hint hint() const { return hint_; }
  SmtpError& set_hint(Hint hint) {
    hint_ = hint;
    return *this;
  }

 private:
  Kind kind_;
  int code_;
  std::string enhanced_;
  std::string reply_text_;
  std::optional<net::CertificateFailure> certificate_;
  Hint hint_ = Hint::kNone;
};

}  // namespace smtpn::smtp
