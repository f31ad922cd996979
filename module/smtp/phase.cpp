// Names of the outcome vocabulary of error.hpp: phases for messages and for Lisp, and
// delivery states for Lisp.
#include "common/enum_table.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

// The words go inside "(during ...)".
constexpr EnumNames<Phase> kPhases[] = {
    {Phase::kArguments, "arguments", "checking the arguments"},
    {Phase::kConnect, "connect", "connecting"},
    {Phase::kTlsHandshake, "tls", "the TLS handshake"},  // implicit TLS, before the greeting
    {Phase::kGreeting, "greeting", "waiting for the greeting"},
    {Phase::kHello, "hello", "EHLO"},
    {Phase::kStartTls, "starttls", "STARTTLS"},
    {Phase::kAuth, "auth", "authentication"},
    {Phase::kEnvelope, "envelope", "the envelope (MAIL/RCPT)"},
    {Phase::kData, "data", "sending the message"},
    {Phase::kQuit, "quit", "QUIT"},
};
static_assert(rows_follow_enum(kPhases, Phase::kQuit), "one row per Phase, in its order");

}  // namespace

const char* phase_name(Phase phase) {
  const EnumNames<Phase>* row = row_of(kPhases, phase);
  return row ? row->words : "";
}

const char* phase_symbol(Phase phase) {
  const EnumNames<Phase>* row = row_of(kPhases, phase);
  return row ? row->symbol : "connect";
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
