// Session, the connection's part: implicit TLS and the trust check after every handshake, the
// greeting (with the early cut-off for a port that waits for TLS), EHLO (HELO only when nothing
// needs extensions) and STARTTLS with its response-injection defence.
#include "smtp/session.hpp"

#include <algorithm>
#include <chrono>

#include "net/error.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

using Kind = SmtpError::Kind;

std::string seconds_text(double seconds) {
  std::string text = std::to_string(seconds);
  text.erase(text.find_last_not_of('0') + 1);
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

void Session::start_tls_now() {
  net::TlsOptions tls = options_.tls;
  if (tls.server_name.empty()) tls.server_name = options_.host;
  // Only a description of the server may go on past an untrusted certificate.
  tls.report_untrusted = tls.report_untrusted && !sending_;
  const auto start = std::chrono::steady_clock::now();
  tls_ = transport_.start_tls(tls, net::Deadline::after_seconds(timeouts_.tls));
  tls_ms_ = net::milliseconds_since(start);
  // The handshake already refuses an untrusted chain unless told to report it; this check
  // holds whatever the transport did, before a single SMTP byte goes through the tunnel.
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
  if (round_trip_ms_ < 0) round_trip_ms_ = net::milliseconds_since(start);
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

}  // namespace smtpn::smtp
