// Names of the outcome vocabulary of error.hpp: phases for messages and for Lisp, and
// delivery states for Lisp.
#include "common/enum_table.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

struct PhaseNames {
  Phase value;
  const char* name;    // for people, inside "(during ...)"
  const char* symbol;  // for Lisp, :phase
};

constexpr PhaseNames kPhases[] = {
    {Phase::kArguments, "checking the arguments", "arguments"},
    {Phase::kConnect, "connecting", "connect"},
    {Phase::kTlsHandshake, "the TLS handshake", "tls"},  // implicit TLS, before the greeting
    {Phase::kGreeting, "waiting for the greeting", "greeting"},
    {Phase::kHello, "EHLO", "hello"},
    {Phase::kStartTls, "STARTTLS", "starttls"},
    {Phase::kAuth, "authentication", "auth"},
    {Phase::kEnvelope, "the envelope (MAIL/RCPT)", "envelope"},
    {Phase::kData, "sending the message", "data"},
    {Phase::kQuit, "QUIT", "quit"},
};
static_assert(rows_follow_enum(kPhases, Phase::kQuit), "one row per Phase, in its order");

}  // namespace

const char* phase_name(Phase phase) {
  const PhaseNames* row = row_of(kPhases, phase);
  return row ? row->name : "";
}

const char* phase_symbol(Phase phase) {
  const PhaseNames* row = row_of(kPhases, phase);
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
