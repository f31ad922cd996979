// What a caller asks of an SMTP session: the connection and security settings, and the mail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "crypto/secret.hpp"
#include "net/transport.hpp"
#include "sasl/mechanism.hpp"
#include "smtp/error.hpp"
#include "smtp/reply.hpp"

namespace smtpn::smtp {

// smtpmail-stream-type's meanings.
enum class StreamType {
  kOpportunistic,  // nil: STARTTLS when offered
  kStartTls,       // starttls: STARTTLS or nothing
  kImplicitTls,    // ssl / tls: TLS from the first byte
  kPlain,          // plain: never TLS
};

// When secrets (PLAIN, LOGIN passwords) may cross a connection without TLS.
enum class PlaintextAuth { kNever, kAlways, kLoopback };

using PasswordProvider = std::function<crypto::Secret()>;
using ProgressFn = std::function<void(Phase phase, std::size_t sent, std::size_t total)>;

// RFC 5321 §4.5.3.2's per-phase timeouts, scaled so that TIMEOUT seconds is the command
// timeout (the RFC's 5 minutes); the others keep the RFC's proportions.
struct Timeouts {
  double connect, greeting, command, tls, data_init, data_block, data_end, quit;
  static Timeouts scaled(double timeout_seconds);
};

struct SessionOptions {
  std::string host;
  std::string port = "25";
  StreamType stream_type = StreamType::kOpportunistic;
  std::string helo = "localhost";
  std::string user;  // empty: no AUTH
  PasswordProvider password;
  std::vector<std::string> mechanisms;  // upper case, preference order; empty = default
  PlaintextAuth plaintext_auth = PlaintextAuth::kLoopback;
  // OAuth bearer token for XOAUTH2/OAUTHBEARER; when set, those mechanisms lead the default
  // order. Without it they take the password slot (and run only when listed in mechanisms).
  PasswordProvider oauth_token;
  // Highest SCRAM iteration count a server may ask for (the floor is 4096).
  std::uint32_t scram_max_iterations = sasl::kDefaultScramMaxIterations;
  net::TlsOptions tls;  // server_name defaults to host
  double timeout_seconds = 60;
  ReplyLimits limits;
  TraceFn trace;
  net::InterruptCheck interrupt;
  ProgressFn progress;
};

struct MailOptions {
  std::string from;  // empty: the null reverse-path <>
  std::vector<std::string> recipients;
  std::string dsn_notify;  // "" or NEVER or a comma list of SUCCESS, FAILURE, DELAY
  std::string dsn_ret;     // "" or FULL or HDRS
  std::string envid;       // "" or the envelope id (xtext-encoded on the wire)
  bool allow_partial = false;
};

struct SendResult {
  Delivery delivery = Delivery::kSent;  // or kPartial: some recipients refused (allow_partial)
  std::vector<std::string> accepted;
  std::vector<Rejection> rejected;
  Reply final_reply;
  std::optional<net::TlsInfo> tls;
  std::string mechanism;  // empty when no AUTH ran
  std::vector<std::string> capabilities;
  std::string host;
  std::string port;
};

struct ServerInfo {
  Reply greeting;
  std::vector<std::string> capabilities_before_tls;
  std::vector<std::string> capabilities_after_tls;  // empty without TLS
  std::optional<net::TlsInfo> tls;
  std::vector<std::string> offered_mechanisms;
  std::string chosen_mechanism;  // what AUTH would use, or empty
  double connect_ms = -1;        // TCP connect; -1 when not measured
  double tls_ms = -1;            // the TLS handshake; -1 without TLS
  double round_trip_ms = -1;     // the first EHLO command and its reply
  // probe(login = true): the mechanism that logged in, or why logging in failed.
  std::string login_mechanism;
  std::optional<SmtpError> login_error;
};

}  // namespace smtpn::smtp
