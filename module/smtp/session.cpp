#include "smtp/session.hpp"

#include <algorithm>
#include <chrono>

#include "crypto/secret.hpp"
#include "net/error.hpp"
#include "net/socket_transport.hpp"
#include "sasl/mechanism.hpp"
#include "sasl/policy.hpp"
#include "sasl/saslprep.hpp"
#include "smtp/commands.hpp"
#include "smtp/encoder.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

using Kind = SmtpError::Kind;

Kind kind_for_reply(const Reply& reply) { return reply.klass() == 4 ? Kind::kTemporary : Kind::kPermanent; }

double milliseconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

std::string seconds_text(double seconds) {
  std::string text = std::to_string(seconds);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

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

template <class Fn>
auto Session::guarded(Fn fn) -> decltype(fn()) {
  try {
    return fn();
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

bool Session::clear_secrets_allowed() const {
  switch (options_.plaintext_auth) {
    case PlaintextAuth::kAlways: return true;
    case PlaintextAuth::kNever: return false;
    case PlaintextAuth::kLoopback: return transport_.peer_is_loopback();
  }
  return false;
}

void Session::start_tls_now() {
  net::TlsOptions tls = options_.tls;
  if (tls.server_name.empty()) tls.server_name = options_.host;
  // Only a description of the server may go on past an untrusted certificate.
  tls.report_untrusted = tls.report_untrusted && !sending_;
  const auto start = std::chrono::steady_clock::now();
  tls_ = transport_.start_tls(tls, net::Deadline::after_seconds(timeouts_.tls));
  tls_ms_ = milliseconds_since(start);
  if ((tls.verify || tls.pin_sha256) && !tls_->verified) {
    const net::CertificateFailure failure{tls_->verify_error, tls_->verify_result, tls_->chain};
    if (!tls.report_untrusted)
      throw certificate_error(std::string("the server certificate was refused: ") +
                                  net::verify_error_words(failure.reason) + " (OpenSSL: " + failure.detail + ")",
                              failure);
    note("TLS established: " + tls_->protocol + " " + tls_->cipher + "; CERTIFICATE NOT TRUSTED: " +
         net::verify_error_words(failure.reason) + " (describing the server only; no AUTH)");
    return;
  }
  std::string how = tls_->pinned ? "certificate pinned by SHA-256, fingerprint matched"
                    : tls.verify ? "certificate verified for " + tls.server_name
                                 : "CERTIFICATE NOT VERIFIED (:verify nil): " + tls_->verify_result;
  note("TLS established: " + tls_->protocol + " " + tls_->cipher + "; " + how);
}

bool Session::tls_untrusted() const {
  return tls_ && (options_.tls.verify || options_.tls.pin_sha256) && !tls_->verified;
}

void Session::hello() {
  progress(Phase::kHello);
  const auto start = std::chrono::steady_clock::now();
  Reply reply = command("EHLO " + options_.helo, timeouts_.command);
  if (round_trip_ms_ < 0) round_trip_ms_ = milliseconds_since(start);
  if (reply.code == 250) {
    caps_ = parse_capabilities(reply);
    return;
  }
  if (reply.klass() == 4) fail_reply(reply, "the server refused EHLO");
  // HELO knows no STARTTLS and no AUTH: never fall back when either is required.
  const bool needs_extensions = options_.stream_type == StreamType::kStartTls || !options_.user.empty();
  if (needs_extensions) fail_reply(reply, "the server refused EHLO, and HELO cannot do STARTTLS or AUTH");
  reply = command("HELO " + options_.helo, timeouts_.command);
  if (reply.code != 250) fail_reply(reply, "the server refused HELO");
  caps_ = Capabilities{};
  helo_only_ = true;
}

void Session::start_tls_command() {
  progress(Phase::kStartTls);
  const bool required = options_.stream_type == StreamType::kStartTls;
  if (!caps_.starttls) {
    if (required)
      throw SmtpError(Kind::kTls,
                      "the server does not offer STARTTLS, and :stream-type starttls requires it");
    note("the server does not offer STARTTLS; continuing without TLS");
    return;
  }
  const Reply reply = command("STARTTLS", timeouts_.command);
  if (reply.code != 220) {
    if (required)
      throw SmtpError(Kind::kTls, "the server refused STARTTLS: " + reply.summary(), reply.code,
                      reply.enhanced, reply.text());
    note("the server refused STARTTLS; continuing without TLS");
    return;
  }
  // Anything after the 220 was sent before the handshake, in the clear, by whoever sits on
  // the wire: acting on it is the STARTTLS response-injection attack. Abort instead.
  if (reader_.has_buffered() || transport_.has_pending_input())
    throw SmtpError(
        Kind::kProtocol,
        "the server sent data after its STARTTLS reply and before TLS started (response injection); "
        "aborting");
  caps_before_tls_ = caps_.lines;
  start_tls_now();
  // Only what the server says inside TLS counts.
  caps_ = Capabilities{};
  hello();
}

void Session::open() {
  if (options_.stream_type == StreamType::kImplicitTls) {
    progress(Phase::kTlsHandshake);
    start_tls_now();
  }
  progress(Phase::kGreeting);
  if (options_.stream_type != StreamType::kImplicitTls) await_greeting();
  greeting_ = read_reply(timeouts_.greeting);
  if (greeting_.code != 220) fail_reply(greeting_, "the server refused the session");
  hello();
  if (options_.stream_type == StreamType::kOpportunistic || options_.stream_type == StreamType::kStartTls)
    start_tls_command();
}

void Session::await_greeting() {
  // Port 25 may greet late on purpose (greet-pause, RFC 5321 allows minutes); elsewhere a
  // silent port is far more often one that waits for a TLS ClientHello.
  if (options_.port == "25" || options_.port == "smtp") return;
  const double wait = std::min(kSilentGreetingSeconds, timeouts_.greeting);
  if (transport_.wait_readable(net::Deadline::after_seconds(wait))) return;
  SmtpError error(Kind::kTimeout, "no greeting came from the server within " + seconds_text(wait) +
                                      " seconds: port " + options_.port +
                                      " probably expects implicit TLS; use the stream type `ssl' for it" +
                                      (sending_ ? "; the message was not sent" : ""));
  error.set_hint(Hint::kUseImplicitTls);
  throw error;
}

const crypto::Secret& Session::secret_for(const std::string& mechanism) {
  static const crypto::Secret kNone;
  if (mechanism == "EXTERNAL") return kNone;  // the client certificate is the credential
  if (sasl::uses_token(mechanism) && options_.oauth_token) {
    if (!token_) token_ = options_.oauth_token();
    return *token_;
  }
  if (!password_) {
    if (!options_.password) throw SmtpError(Kind::kAuth, "a user name was given but no password");
    // Asked for only now that a mechanism needs it, and once; SASLprep'd here, so a direct
    // caller gets the same preparation as the Lisp layer.
    auto prepared = sasl::saslprep(options_.password().expose(), "password");
    if (!prepared) throw SmtpError(Kind::kAuth, prepared.error().message + "; nothing was sent");
    password_ = std::move(prepared).value();
  }
  return *password_;
}

const std::string& Session::prepared_user() {
  if (!user_) {
    auto prepared = sasl::saslprep(options_.user, "user name");
    if (!prepared) throw SmtpError(Kind::kAuth, prepared.error().message + "; nothing was sent");
    user_ = std::string(prepared.value().expose());
  }
  return *user_;
}

sasl::PolicyInput Session::policy_input() const {
  return {caps_.auth_mechanisms,
          options_.mechanisms,
          transport_.is_tls(),
          clear_secrets_allowed(),
          transport_.channel_binding().has_value(),
          static_cast<bool>(options_.oauth_token),
          !options_.tls.client_cert_file.empty()};
}

bool Session::run_mechanism(const std::string& name) {
  // EXTERNAL's identity is the certificate's; the name is not sent, so not prepared either.
  const sasl::Credentials credentials{name == "EXTERNAL" ? options_.user : prepared_user(), secret_for(name)};
  sasl::MechanismOptions mech_options;
  if (auto binding = transport_.channel_binding())
    mech_options.channel_binding = sasl::ChannelBinding{binding->type, binding->data};
  mech_options.scram_max_iterations = options_.scram_max_iterations;
  mech_options.host = options_.tls.server_name.empty() ? options_.host : options_.tls.server_name;
  mech_options.port = options_.port;
  mech_options.server_offers_plus =
      std::any_of(caps_.auth_mechanisms.begin(), caps_.auth_mechanisms.end(),
                  [](const std::string& m) { return sasl::needs_channel_binding(m); });
  auto mechanism = sasl::make_mechanism(name, credentials, mech_options);

  auto initial = mechanism->initial_response();
  if (!initial) throw SmtpError(Kind::kAuth, "cannot start " + name + ": " + initial.error().message);
  // RFC 4954 §4: an initial response that would push the command past 512 octets waits for
  // the server's empty 334 instead of riding on the AUTH line.
  std::optional<crypto::Secret> deferred;
  Reply reply;
  if (auto& first = initial.value(); first && 5 + name.size() + 1 + first->size() + 2 <= 512) {
    std::string line = "AUTH " + name + " ";
    if (first->empty())
      line += '=';  // an empty initial response (RFC 4954 §4)
    else
      line.append(first->expose());
    try {
      reply = command(line, timeouts_.command, "AUTH " + name + " <redacted>");
    } catch (...) {
      crypto::wipe(line);
      throw;
    }
    crypto::wipe(line);
  } else {
    deferred = std::move(first);
    reply = command("AUTH " + name, timeouts_.command);
  }
  for (int round = 0; reply.code == 334; ++round) {
    if (round >= kMaxSaslRounds) {
      send_line("*");
      throw SmtpError(Kind::kProtocol, "the server kept challenging beyond " +
                                           std::to_string(kMaxSaslRounds) + " AUTH rounds; aborted");
    }
    const std::string challenge = reply.lines.empty() ? std::string() : reply.lines.front();
    if (deferred) {
      if (!challenge.empty()) {
        send_line("*");
        throw SmtpError(Kind::kAuth, "the server sent a " + name + " challenge where it owed an empty 334");
      }
      reply = command(deferred->expose(), timeouts_.command, "<redacted>");
      deferred.reset();
      continue;
    }
    auto response = mechanism->respond(challenge);
    if (!response) {
      send_line("*");  // cancel the exchange (RFC 4954 §4)
      read_cancel_reply();
      throw SmtpError(Kind::kAuth,
                      "cannot answer the server's " + name + " challenge: " + response.error().message);
    }
    reply = command(response.value().expose(), timeouts_.command, "<redacted>");
  }
  if (reply.code == 235) {
    if (auto distrust = mechanism->finish())
      throw SmtpError(Kind::kAuth, distrust->message + " (the server said: " + reply.summary() + ")",
                      reply.code, reply.enhanced, reply.text());
    mechanism_used_ = name;
    note("authenticated with " + name);
    return true;
  }
  if (reply.code == 504) {
    note(name + " is not supported after all (504); trying the next mechanism");
    return false;
  }
  const std::string detail = mechanism->failure_detail();
  const std::string context = detail.empty() ? std::string() : " (" + detail + ")";
  if (reply.klass() == 4) fail_reply(reply, "authentication failed temporarily" + context);
  throw SmtpError(Kind::kAuth, "authentication with " + name + " failed" + context + ": " + reply.summary(),
                  reply.code, reply.enhanced, reply.text());
}

void Session::read_cancel_reply() noexcept {
  // The server owes a reply to "*" (501); read it so the trace shows it, but the error
  // we are about to raise is what matters, so a server that stays silent gets only the
  // short QUIT wait.
  try {
    read_reply(timeouts_.quit);
  } catch (...) {
  }
}

void Session::authenticate() {
  if (options_.user.empty()) return;
  progress(Phase::kAuth);
  if (tls_untrusted())
    throw SmtpError(Kind::kAuth, "not logging in: the server certificate is not trusted (" +
                                     std::string(net::verify_error_words(tls_->verify_error)) + ")");
  if (caps_.auth_mechanisms.empty()) {
    note("the server offers no AUTH; sending without authentication");
    return;
  }
  const auto choice = sasl::choose_mechanisms(policy_input());
  if (choice.candidates.empty()) {
    if (!choice.refused_clear.empty())
      throw SmtpError(Kind::kAuth,
                      "refusing to send the password over a connection without TLS: the server offers " +
                          join(choice.refused_clear, ", ") +
                          " only (use STARTTLS or TLS, or allow it with :allow-plaintext-auth t)");
    throw SmtpError(
        Kind::kAuth,
        "no usable AUTH mechanism: the server offers " + join(caps_.auth_mechanisms, " ") +
            (options_.mechanisms.empty() ? std::string() : "; allowed: " + join(options_.mechanisms, " ")));
  }
  for (const auto& name : choice.candidates)
    if (run_mechanism(name)) return;
  throw SmtpError(Kind::kAuth,
                  "every AUTH mechanism tried was unsupported (504): " + join(choice.candidates, ", "));
}

void Session::stream_data(std::string_view message, std::size_t size) {
  DataEncoder encoder(message, DataEncoder::Mode::kData);
  std::string chunk;
  chunk.reserve(kDataChunk + kDataChunk / 8);
  std::size_t sent = 0;
  const std::size_t total = size + 3;
  if (options_.trace) options_.trace("C: <message: " + std::to_string(size) + " bytes>");
  while (encoder.next_chunk(chunk, kDataChunk)) {
    transport_.write_all(chunk, net::Deadline::after_seconds(timeouts_.data_block));
    if (encoder.done()) dot_written_ = true;  // the chunk carried the terminator
    sent += chunk.size();
    progress(Phase::kData, std::min(sent, total), total);
    chunk.clear();
  }
  if (options_.trace) options_.trace("C: .");
}

void Session::stream_bdat(std::string_view body) {
  const std::string command = "BDAT " + std::to_string(body.size()) + " LAST";
  if (options_.trace) {
    options_.trace("C: " + command);
    options_.trace("C: <message: " + std::to_string(body.size()) + " bytes>");
  }
  // The command rides in the first write with the start of the body.
  std::string first = command + "\r\n";
  first.append(body.substr(0, kDataChunk));
  transport_.write_all(first, net::Deadline::after_seconds(timeouts_.data_block));
  std::size_t sent = std::min(body.size(), kDataChunk);
  if (sent == body.size()) dot_written_ = true;  // BDAT LAST: the chunk's end is the message's
  progress(Phase::kData, sent, body.size());
  while (sent < body.size()) {
    const std::string_view piece = body.substr(sent, kDataChunk);
    transport_.write_all(piece, net::Deadline::after_seconds(timeouts_.data_block));
    sent += piece.size();
    if (sent == body.size()) dot_written_ = true;
    progress(Phase::kData, sent, body.size());
  }
}

void Session::transmit(const MailOptions& mail, std::string_view message, SendResult& result) {
  dot_written_ = false;
  progress(Phase::kEnvelope);
  // With CHUNKING a large message is encoded once, up front: its length is both the SIZE
  // and the BDAT count, so it needs no separate sizing pass.
  const bool bdat = caps_.chunking && message.size() >= kBdatThreshold;
  const std::string bdat_body = bdat ? encode_message(message, DataEncoder::Mode::kBdat) : std::string();
  const MessageFacts facts{bdat ? bdat_body.size() : normalised_size(message), has_eight_bit(message)};
  if (caps_.size_limit && facts.size > *caps_.size_limit)
    throw SmtpError(Kind::kPermanent,
                    "the message is " + std::to_string(facts.size) +
                        " bytes, more than the server's SIZE limit of " + std::to_string(*caps_.size_limit) +
                        " bytes; nothing was sent",
                    552, "5.3.4");
  // DATA joins the pipelined batch only when a rejected recipient cannot leave us in DATA
  // mode with a transaction to abandon: one recipient, or partial delivery allowed.
  const bool pipeline = caps_.pipelining;
  const bool pipeline_data = pipeline && !bdat && (mail.allow_partial || mail.recipients.size() == 1);

  std::vector<std::string> lines{mail_command(mail, caps_, facts)};
  for (const auto& r : mail.recipients) lines.push_back(rcpt_command(r, mail, caps_));

  std::optional<Reply> data_reply;
  Reply mail_reply;
  std::vector<Reply> rcpt_replies;
  if (pipeline) {
    std::string batch;
    if (pipeline_data) lines.push_back("DATA");
    for (const auto& line : lines) {
      if (options_.trace) options_.trace("C: " + line);
      batch.append(line).append("\r\n");
    }
    transport_.write_all(batch, net::Deadline::after_seconds(timeouts_.command));
    mail_reply = read_reply(timeouts_.command);
    for (std::size_t i = 0; i < mail.recipients.size(); ++i)
      rcpt_replies.push_back(read_reply(timeouts_.command));
    if (pipeline_data) data_reply = read_reply(timeouts_.data_init);
  } else {
    mail_reply = command(lines[0], timeouts_.command);
    if (mail_reply.klass() == 2)
      for (std::size_t i = 0; i < mail.recipients.size(); ++i)
        rcpt_replies.push_back(command(lines[i + 1], timeouts_.command));
  }

  if (mail_reply.klass() != 2) {
    if (!data_reply || data_reply->code != 354) reset_quietly();
    fail_reply(mail_reply, "the server refused the sender <" + mail.from + ">");
  }
  for (std::size_t i = 0; i < rcpt_replies.size(); ++i) {
    if (rcpt_replies[i].klass() == 2)
      result.accepted.push_back(mail.recipients[i]);
    else
      result.rejected.push_back({mail.recipients[i], rcpt_replies[i]});
  }
  if (data_reply && data_reply->code == 354 &&
      (result.accepted.empty() || (!result.rejected.empty() && !mail.allow_partial)))
    throw SmtpError(Kind::kProtocol,
                    "the server accepted DATA without an accepted recipient; connection dropped "
                    "so that nothing is delivered");
  if (result.accepted.empty() || (!result.rejected.empty() && !mail.allow_partial)) {
    reset_quietly();
    std::string list;
    bool all_temporary = true;
    for (const auto& rej : result.rejected) {
      if (!list.empty()) list += "; ";
      list += "<" + rej.recipient + ">: " + rej.reply.summary();
      all_temporary = all_temporary && rej.reply.klass() == 4;
    }
    const Reply& first = result.rejected.front().reply;
    SmtpError error(all_temporary ? Kind::kTemporary : Kind::kPermanent,
                    "the server rejected " + std::to_string(result.rejected.size()) + " of " +
                        std::to_string(mail.recipients.size()) + " recipients; nothing was sent: " + list,
                    first.code, first.enhanced, first.text());
    error.rejected = result.rejected;
    throw error;
  }

  if (!bdat) {
    if (!data_reply) data_reply = command("DATA", timeouts_.data_init);
    if (data_reply->code != 354) fail_reply(*data_reply, "the server refused DATA");
  }
  mid_data_ = true;
  progress(Phase::kData, 0, facts.size);
  if (bdat)
    stream_bdat(bdat_body);
  else
    stream_data(message, facts.size);
  // From here (dot_written_) a failure leaves delivery unknown, but for the server's verdict.
  result.final_reply = read_reply(timeouts_.data_end);
  mid_data_ = false;
  if (result.final_reply.klass() == 4 || result.final_reply.klass() == 5) {
    SmtpError error(kind_for_reply(result.final_reply),
                    "the server did not accept the message: " + result.final_reply.summary(),
                    result.final_reply.code, result.final_reply.enhanced, result.final_reply.text());
    error.delivery = Delivery::kNotSent;  // a refusal read whole is a verdict
    throw error;
  }
  if (result.final_reply.klass() != 2)
    throw SmtpError(Kind::kProtocol, "the server answered the message with " + result.final_reply.summary() +
                                         ", neither accepted nor refused: delivery status unknown",
                    result.final_reply.code, result.final_reply.enhanced, result.final_reply.text());
  result.delivery = result.rejected.empty() ? Delivery::kSent : Delivery::kPartial;
}

SendResult Session::transaction(const MailOptions& mail, std::string_view message) {
  SendResult result;
  transmit(mail, message, result);
  result.tls = tls_;
  result.mechanism = mechanism_used_;
  result.capabilities = caps_.lines;
  result.host = options_.host;
  result.port = options_.port;
  return result;
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
  return guarded([&] {
    open();
    authenticate();
    SendResult result = transaction(mail, message);
    finish();
    return result;
  });
}

std::vector<BatchOutcome> Session::send_batch(const std::vector<BatchItem>& items,
                                              const OutcomeFn& on_outcome) {
  sending_ = true;
  validate(nullptr);
  std::vector<BatchOutcome> outcomes(items.size());
  std::vector<bool> valid(items.size(), true);
  for (std::size_t i = 0; i < items.size(); ++i) {
    try {
      validate(&items[i].mail);
    } catch (const SmtpError& e) {
      outcomes[i].error = e;
      valid[i] = false;
      if (on_outcome) on_outcome(i, outcomes[i]);
    }
  }
  std::size_t next = 0;  // the first message not yet decided when the connection is lost
  try {
    guarded([&] {
      open();
      authenticate();
      bool first = true;
      for (; next < items.size(); ++next) {
        if (!valid[next]) continue;
        if (!first) {
          // A clean slate for every transaction after the first (RFC 5321 §4.1.1.5).
          const Reply reset = command("RSET", timeouts_.command);
          if (reset.klass() != 2) fail_reply(reset, "the server refused RSET between messages");
        }
        first = false;
        try {
          outcomes[next].result = transaction(items[next].mail, items[next].message);
        } catch (const SmtpError& e) {
          // A refusal ends one transaction, not the session; 421 ends the session.
          const bool session_ok =
              (e.kind() == Kind::kTemporary || e.kind() == Kind::kPermanent) && e.code() != 421;
          if (!session_ok) throw;
          outcomes[next].error = e;
          stamp(*outcomes[next].error);
        }
        // This message is decided; the session stands between transactions.
        dot_written_ = false;
        phase_ = Phase::kEnvelope;
        if (on_outcome) on_outcome(next, outcomes[next]);
      }
      finish();
      return 0;
    });
  } catch (const SmtpError& e) {
    if (e.kind() == Kind::kInterrupted) throw;  // C-g: the caller stops, it does not record
    // The session is gone: this message and every later one share its fate.
    for (std::size_t i = next; i < items.size(); ++i) {
      if (!valid[i] || outcomes[i].result || outcomes[i].error) continue;
      if (i == next) {
        outcomes[i].error = e;
      } else {
        SmtpError& later = outcomes[i].error.emplace(
            e.kind() == Kind::kInterrupted ? Kind::kInterrupted : Kind::kConnection,
            std::string("not sent: the session ended before this message: ") + e.what(), e.code(),
            e.enhanced_status(), e.reply_text());
        later.phase = e.phase;
        later.delivery = Delivery::kNotSent;  // never begun
        later.auth = e.auth;
        later.host = e.host;
        later.port = e.port;
      }
      if (on_outcome) on_outcome(i, outcomes[i]);
    }
  }
  return outcomes;
}

ServerInfo Session::probe(bool login) {
  validate(nullptr);
  return guarded([&] {
    open();
    ServerInfo info;
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
    return info;
  });
}

void Session::try_login(ServerInfo& info) {
  try {
    if (options_.user.empty()) throw SmtpError(Kind::kAuth, "no user name given: nothing to log in with");
    if (caps_.auth_mechanisms.empty()) throw SmtpError(Kind::kAuth, "the server offers no AUTH");
    guarded([&] {
      authenticate();
      return 0;
    });
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
    const std::string text =
        kind == Kind::kInterrupted ? std::string("interrupted while connecting") : std::string(e.what());
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
    for (std::size_t i = 0; i < items.size() && on_outcome; ++i) on_outcome(i, outcomes[i]);
    return outcomes;
  }
  return Session(*transport, options).send_batch(items, on_outcome);
}

ServerInfo probe_server(const SessionOptions& options, bool login) {
  validate_before_connecting(options, nullptr, false);
  const auto start = std::chrono::steady_clock::now();
  auto transport = open_traced(options, false);
  const double connect_ms = milliseconds_since(start);
  ServerInfo info = Session(*transport, options).probe(login);
  info.connect_ms = connect_ms;
  return info;
}

}  // namespace smtpn::smtp
