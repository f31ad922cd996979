// Session's life and its one error path: construction, the I/O helpers every phase uses,
// stamping every failure with the session's facts (Session::stamp), QUIT, and the entry
// points (send, probe, and the free functions that open the connection first).
#include "smtp/session.hpp"

#include <algorithm>
#include <chrono>

#include "crypto/secret.hpp"
#include "net/error.hpp"
#include "net/socket_transport.hpp"
#include "sasl/policy.hpp"
#include "smtp/commands.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

using Kind = SmtpError::Kind;

}  // namespace

Timeouts Timeouts::scaled(double t) {
  // RFC 5321 §4.5.3.2: greeting 5 min, MAIL/RCPT 5 min, DATA initiation 2 min,
  // data block 3 min, DATA termination 10 min; T stands for the 5 minutes.
  return Timeouts{t, t, t, t, t * 0.4, t * 0.6, t * 2.0, std::min(t, 5.0)};
}

Session::Session(net::Transport& transport, const SessionOptions& options)
    : transport_(transport),
      options_(options),
      timeouts_(Timeouts::scaled(options.timeout_seconds)),
      reader_(transport, options.limits, options.trace) {}

void Session::stamp(SmtpError& e) const {
  if (!e.phase) e.phase = phase_;
  // The one rule for what became of the message: before its final dot the server holds no
  // complete message and must discard what it got (RFC 5321 §4.1.1.4); after it, only the
  // server's own verdict (a reply read whole) decides, so anything else leaves it unknown.
  if (e.delivery == Delivery::kNone && sending_)
    e.delivery = dot_written_ ? Delivery::kUnknown : Delivery::kNotSent;
  if (e.auth.empty()) e.auth = mechanism_used_;
  if (e.host.empty()) {
    e.host = options_.host;
    e.port = options_.port;
  }
}

SmtpError Session::from_net_error(const net::NetError& e) const {
  using NK = net::NetError::Kind;
  const bool after_dot = dot_written_;
  const std::string during = std::string(" (during ") + phase_name(phase_) + ")" +
                             (sending_ && !after_dot ? "; the message was not sent" : "");
  switch (e.kind()) {
    case NK::kResolve:
    case NK::kConnect: return SmtpError(Kind::kConnection, e.what());
    case NK::kTls:
      if (after_dot) break;  // the message may have arrived: see below
      return tls_failure(e, during);
    case NK::kTimeout:
      if (after_dot)
        return SmtpError(
            Kind::kTimeout,
            "the server did not confirm the message in time after it was sent: delivery status unknown");
      return SmtpError(Kind::kTimeout, std::string("the server did not answer in time") + during);
    case NK::kInterrupted:
      if (after_dot)
        return SmtpError(Kind::kInterrupted,
                         "interrupted after the message was sent and before the server confirmed it: "
                         "delivery status unknown");
      return SmtpError(Kind::kInterrupted, "interrupted" + during);
    case NK::kClosed:
    case NK::kIo: break;
  }
  // After the final dot any transport failure (closed, reset, a broken TLS record) may have
  // come after the server queued the message: neither "sent" nor "failed" is true.
  if (after_dot)
    return SmtpError(Kind::kConnection,
                     std::string("the connection broke after the message was sent and before the "
                                 "server confirmed it: delivery status unknown (") +
                         e.what() + ")");
  return SmtpError(Kind::kConnection, std::string(e.what()) + during);
}

void Session::guarded(const std::function<void()>& fn) {
  try {
    fn();
  } catch (SmtpError& e) {
    stamp(e);
    throw;
  } catch (const net::NetError& e) {
    SmtpError error = from_net_error(e);
    stamp(error);
    throw error;
  } catch (const CallbackAbort&) {
    // The caller stopped us between two steps: leave as a polite client would, unless the
    // server is mid-message or has not greeted us yet (QUIT would be message text or noise).
    const bool after_dot = dot_written_;
    if (phase_ >= Phase::kHello && !mid_data_) quit();
    SmtpError error(Kind::kInterrupted,
                    after_dot ? std::string("stopped by the caller after the message was sent and before "
                                            "the server confirmed it: delivery status unknown")
                              : std::string("stopped by the caller (during ") + phase_name(phase_) + ")" +
                                    (sending_ ? "; the message was not sent" : ""));
    stamp(error);
    throw error;
  }
}

std::string Session::pin_key() const { return options_.host + ":" + options_.port; }

SmtpError Session::certificate_error(const std::string& what, const net::CertificateFailure& failure) const {
  std::string advice;
  if (!failure.chain.empty()) {
    const std::string& fp = failure.chain.front().sha256;
    advice = failure.reason == net::VerifyError::kPinMismatch
                 ? ". If you know the server's certificate was replaced, pin the new one: set \"" + pin_key() +
                       "\" to \"" + fp + "\" in `smtpmail-native-pinned-certificates'"
                 : ". Its SHA-256 fingerprint is " + fp + "; if you trust it, pin it: add (\"" + pin_key() +
                       "\" . \"" + fp + "\") to `smtpmail-native-pinned-certificates'";
  }
  SmtpError error(Kind::kTls, what + advice);
  error.set_certificate(failure);
  return error;
}

SmtpError Session::tls_failure(const net::NetError& e, const std::string& during) const {
  if (e.peer_not_tls() && phase_ == Phase::kTlsHandshake) {
    SmtpError error(Kind::kTls, "the server talks plain SMTP on port " + options_.port +
                                    ", not TLS: use the stream type `starttls' for this port (" + e.what() + ")");
    error.set_hint(Hint::kUseStartTls);
    return error;
  }
  if (e.certificate()) return certificate_error(e.what() + during, *e.certificate());
  return SmtpError(Kind::kTls, std::string(e.what()) + during);
}

void Session::note(std::string_view text) {
  if (options_.trace) options_.trace(std::string("* ").append(text));
}

void Session::progress(Phase phase, std::size_t sent, std::size_t total) {
  phase_ = phase;
  if (options_.progress) options_.progress(phase, sent, total);
}

void Session::send_line(std::string_view line, std::string_view trace_form) {
  if (options_.trace) options_.trace(std::string("C: ").append(trace_form.empty() ? line : trace_form));
  std::string wire;
  wire.reserve(line.size() + 2);
  wire.append(line).append("\r\n");
  transport_.write_all(wire, net::Deadline::after_seconds(timeouts_.command));
  crypto::wipe(wire);  // it may have carried an AUTH response
}

Reply Session::read_reply(double seconds) {
  Reply reply = reader_.read(net::Deadline::after_seconds(seconds));
  // 421 may come in answer to anything and means the server is closing: nothing after it
  // can be read, so it decides the error wherever it appears (RFC 5321 §3.8).
  if (reply.code == 421) fail_reply(reply, "the server is closing the connection");
  return reply;
}

void Session::reset_quietly() noexcept {
  try {
    command("RSET", timeouts_.command);
  } catch (...) {
    // The reply already in hand decides the error; RSET is only good manners.
  }
}

Reply Session::command(std::string_view line, double seconds, std::string_view trace_form) {
  send_line(line, trace_form);
  return read_reply(seconds);
}

void Session::fail_reply(const Reply& reply, const std::string& context) {
  throw SmtpError(kind_for_reply(reply), context + ": " + reply.summary(), reply.code, reply.enhanced,
                  reply.text());
}

void Session::quit() noexcept {
  try {
    send_line("QUIT");
    reader_.read(net::Deadline::after_seconds(timeouts_.quit));
  } catch (const SmtpError&) {
    // The mail is already delivered or the error already decided; QUIT is a courtesy.
  } catch (const net::NetError&) {
  }
  // Nothing else can come from here: QUIT calls no caller code (progress is not called, and
  // the trace hook only records), so no caller's pending exit can be swallowed.
}

void Session::finish() noexcept {
  // The outcome is decided (the message delivered, or the probe done): a caller's hook that
  // asks to stop now must not turn it into an error, so the session just ends here.
  try {
    progress(Phase::kQuit);
  } catch (const CallbackAbort&) {
  }
  quit();
}

void Session::validate(const MailOptions* mail) {
  phase_ = Phase::kArguments;
  try {
    validate_session(options_);
    if (mail) validate_mail(*mail);
  } catch (SmtpError& e) {
    stamp(e);
    throw;
  }
  phase_ = Phase::kConnect;
}

SendResult Session::send(const MailOptions& mail, std::string_view message) {
  sending_ = true;
  validate(&mail);
  SendResult result;
  guarded([&] {
    open();
    authenticate();
    result = transaction(mail, message);
    finish();
  });
  return result;
}

ServerInfo Session::probe(bool login) {
  validate(nullptr);
  ServerInfo info;
  guarded([&] {
    open();
    info.tls_ms = tls_ms_;
    info.round_trip_ms = round_trip_ms_;
    info.greeting = greeting_;
    info.tls = tls_;
    if (tls_ && options_.stream_type != StreamType::kImplicitTls) {
      info.capabilities_before_tls = caps_before_tls_;
      info.capabilities_after_tls = caps_.lines;
    } else if (tls_) {
      info.capabilities_after_tls = caps_.lines;
    } else {
      info.capabilities_before_tls = caps_.lines;
    }
    info.offered_mechanisms = caps_.auth_mechanisms;
    const auto choice = sasl::choose_mechanisms(policy_input());
    if (!choice.candidates.empty()) info.chosen_mechanism = choice.candidates.front();
    if (login) try_login(info);
    finish();
  });
  return info;
}

void Session::try_login(ServerInfo& info) {
  try {
    if (options_.user.empty()) throw SmtpError(Kind::kAuth, "no user name given: nothing to log in with");
    if (caps_.auth_mechanisms.empty()) throw SmtpError(Kind::kAuth, "the server offers no AUTH");
    guarded([&] { authenticate(); });
    info.login_mechanism = mechanism_used_;
  } catch (const SmtpError& e) {
    if (e.kind() == Kind::kInterrupted) throw;
    info.login_error = e;
  }
}

namespace {

// The facts of a failure before any session exists (the arguments, the connection).
SmtpError stamped(SmtpError e, const SessionOptions& options, Phase phase, bool sending) {
  e.phase = phase;
  if (sending) e.delivery = Delivery::kNotSent;
  e.host = options.host;
  e.port = options.port;
  return e;
}

void validate_before_connecting(const SessionOptions& options, const MailOptions* mail, bool sending) {
  try {
    validate_session(options);
    if (mail) validate_mail(*mail);
  } catch (const SmtpError& e) {
    throw stamped(e, options, Phase::kArguments, sending);
  }
}

std::unique_ptr<net::Transport> connect(const SessionOptions& options, bool sending) {
  try {
    return net::SocketTransport::connect(
        options.host, options.port,
        net::Deadline::after_seconds(Timeouts::scaled(options.timeout_seconds).connect), options.interrupt);
  } catch (const net::NetError& e) {
    const auto kind = e.kind() == net::NetError::Kind::kInterrupted ? Kind::kInterrupted
                      : e.kind() == net::NetError::Kind::kTimeout   ? Kind::kTimeout
                                                                    : Kind::kConnection;
    // The server may reset us before its greeting so fast that connect itself fails: nothing
    // was sent, and the text says so as every other failure before the message does.
    const std::string text =
        (kind == Kind::kInterrupted ? std::string("interrupted while connecting") : std::string(e.what())) +
        (sending ? "; the message was not sent" : "");
    throw stamped(SmtpError(kind, text), options, Phase::kConnect, sending);
  }
}

// A connection per OPTIONS, with the address it reached in the trace.
std::unique_ptr<net::Transport> open_traced(const SessionOptions& options, bool sending) {
  auto transport = connect(options, sending);
  if (options.trace) options.trace("* connected to " + transport->peer_address() + " port " + options.port);
  return transport;
}

}  // namespace

SendResult send_mail(const SessionOptions& options, const MailOptions& mail, std::string_view message) {
  validate_before_connecting(options, &mail, true);
  auto transport = open_traced(options, true);
  return Session(*transport, options).send(mail, message);
}

std::vector<BatchOutcome> send_batch(const SessionOptions& options, const std::vector<BatchItem>& items,
                                     const Session::OutcomeFn& on_outcome) {
  validate_before_connecting(options, nullptr, true);
  std::unique_ptr<net::Transport> transport;
  try {
    transport = open_traced(options, true);
  } catch (const SmtpError& e) {
    if (e.kind() == Kind::kInterrupted) throw;
    std::vector<BatchOutcome> outcomes(items.size(), BatchOutcome{std::nullopt, e});
    try {
      for (std::size_t i = 0; i < items.size() && on_outcome; ++i) on_outcome(i, outcomes[i]);
    } catch (const CallbackAbort&) {
      // The caller stopped us (as a session would report it): nothing was sent.
      SmtpError stopped(Kind::kInterrupted, "stopped by the caller; the messages were not sent");
      stopped.delivery = Delivery::kNotSent;
      throw stopped;
    }
    return outcomes;
  }
  return Session(*transport, options).send_batch(items, on_outcome);
}

ServerInfo probe_server(const SessionOptions& options, bool login) {
  validate_before_connecting(options, nullptr, false);
  const auto start = std::chrono::steady_clock::now();
  auto transport = open_traced(options, false);
  const double connect_ms = net::milliseconds_since(start);
  ServerInfo info = Session(*transport, options).probe(login);
  info.connect_ms = connect_ms;
  return info;
}

}  // namespace smtpn::smtp
