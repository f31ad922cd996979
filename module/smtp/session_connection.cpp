// Session, the connection's part: implicit TLS, the greeting, EHLO (HELO only when nothing
// needs extensions) and STARTTLS with its response-injection defence.
#include "smtp/session.hpp"

#include "net/error.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

using Kind = SmtpError::Kind;

}  // namespace

void Session::start_tls_now() {
  net::TlsOptions tls = options_.tls;
  if (tls.server_name.empty()) tls.server_name = options_.host;
  tls_ = transport_.start_tls(tls, net::Deadline::after_seconds(timeouts_.tls));
  std::string how = tls_->pinned ? "certificate pinned by SHA-256, fingerprint matched"
                    : tls.verify ? "certificate verified for " + tls.server_name
                                 : "CERTIFICATE NOT VERIFIED (:verify nil): " + tls_->verify_result;
  note("TLS established: " + tls_->protocol + " " + tls_->cipher + "; " + how);
}

void Session::hello() {
  progress(Phase::kHello);
  Reply reply = command("EHLO " + options_.helo, timeouts_.command);
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
  greeting_ = read_reply(timeouts_.greeting);
  if (greeting_.code != 220) fail_reply(greeting_, "the server refused the session");
  hello();
  if (options_.stream_type == StreamType::kOpportunistic || options_.stream_type == StreamType::kStartTls)
    start_tls_command();
}

}  // namespace smtpn::smtp
