// The SMTP layer's one error type and the outcome vocabulary it shares with results: the
// phase a session was in, what became of the message, and the reply that decided it.
// Kinds mirror the Lisp error hierarchy, so Lisp decides from data, never from text.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "smtp/reply.hpp"

#include "net/certificate.hpp"

namespace smtpn::smtp {

// Where a session is. kArguments: refused before connecting; kQuit: the message (if any)
// is decided and the session is saying goodbye. phase.cpp names them in a table checked
// against this order up to kQuit: a phase added after kQuit must update that check.
enum class Phase {
  kArguments,
  kConnect,
  kTlsHandshake,
  kGreeting,
  kHello,
  kStartTls,
  kAuth,
  kEnvelope,
  kData,
  kQuit,
};
const char* phase_name(Phase phase);    // for people: "the envelope (MAIL/RCPT)"
const char* phase_symbol(Phase phase);  // for Lisp: "envelope"

// What became of a message. kNone: no message was involved (a server probe).
// kUnknown: the final dot was written and then something went wrong before the server's
// verdict was read — the message may or may not have been queued.
enum class Delivery { kNone, kNotSent, kSent, kPartial, kUnknown };
const char* delivery_symbol(Delivery delivery);  // nullptr for kNone

struct Rejection {
  std::string recipient;
  Reply reply;
};

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
    kInterrupted,      // C-g, a cancelled job, or a caller's callback that stopped the session
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

  // The session's facts at the moment of failure; the session fills in what the thrower
  // left unset (see Session::stamp), so every error leaving it carries them.
  std::optional<Phase> phase;
  Delivery delivery = Delivery::kNone;
  std::vector<Rejection> rejected;
  std::string auth;  // the SASL mechanism that had succeeded, or empty
  std::string host;
  std::string port;

 private:
  Kind kind_;
  int code_;
  std::string enhanced_;
  std::string reply_text_;
  std::optional<net::CertificateFailure> certificate_;
  Hint hint_ = Hint::kNone;
};

// A refusal's kind: 4xx temporary, anything else permanent.
inline SmtpError::Kind kind_for_reply(const Reply& reply) {
  return reply.klass() == 4 ? SmtpError::Kind::kTemporary : SmtpError::Kind::kPermanent;
}

// Thrown by a caller's callback (a password provider, a trace or progress hook) to stop the
// session at once; the session closes cleanly and reports SmtpError(kInterrupted). The
// caller keeps whatever it needs to say why (a Lisp non-local exit, say).
struct CallbackAbort {};

}  // namespace smtpn::smtp
