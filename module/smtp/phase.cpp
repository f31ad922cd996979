// Names of the outcome vocabulary of error.hpp: phases for messages and for Lisp, and
// delivery states for Lisp.
#include "smtp/error.hpp"

namespace smtpn::smtp {

const char* phase_name(Phase phase) {
  switch (phase) {
    case Phase::kArguments: return "checking the arguments";
    case Phase::kConnect: return "connecting";
    case Phase::kTlsHandshake: return "the TLS handshake";  // implicit TLS, before the greeting
    case Phase::kGreeting: return "waiting for the greeting";
    case Phase::kHello: return "EHLO";
    case Phase::kStartTls: return "STARTTLS";
    case Phase::kAuth: return "authentication";
    case Phase::kEnvelope: return "the envelope (MAIL/RCPT)";
    case Phase::kData: return "sending the message";
    case Phase::kQuit: return "QUIT";
  }
  return "";
}

const char* phase_symbol(Phase phase) {
  switch (phase) {
    case Phase::kArguments: return "arguments";
    case Phase::kConnect: return "connect";
    case Phase::kTlsHandshake: return "tls";
    case Phase::kGreeting: return "greeting";
    case Phase::kHello: return "hello";
    case Phase::kStartTls: return "starttls";
    case Phase::kAuth: return "auth";
    case Phase::kEnvelope: return "envelope";
    case Phase::kData: return "data";
    case Phase::kQuit: return "quit";
  }
  return "connect";
}

const char* delivery_symbol(Delivery delivery) {
  switch (delivery) {
    case Delivery::kNone: return nullptr;
    case Delivery::kNotSent: return "not-sent";
    case Delivery::kSent: return "sent";
    case Delivery::kPartial: return "partial";
    case Delivery::kUnknown: return "unknown";
  }
  return nullptr;
}

}  // namespace smtpn::smtp
