// Session: one SMTP conversation over a Transport, from greeting to QUIT — STARTTLS with
// injection defence, AUTH by policy, the pipelined envelope, the data stream, the trace.
// send_mail()/probe_server() open a real socket; tests drive Session over scripted bytes.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "crypto/secret.hpp"
#include "net/error.hpp"
#include "net/transport.hpp"
#include "sasl/policy.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/reply.hpp"

namespace smtpn::smtp {

// Messages at least this large (before line-end normalisation) go out with BDAT when the
// server offers CHUNKING.
inline constexpr std::size_t kBdatThreshold = 1 << 20;
// Encoded bytes per write while streaming the message.
inline constexpr std::size_t kDataChunk = 512 * 1024;
// AUTH exchanges longer than this many 334 rounds are abandoned.
inline constexpr int kMaxSaslRounds = 8;
// Without implicit TLS, a port other than 25 that sends no byte of greeting for this long is
// taken to wait for a TLS ClientHello (the error says to use `ssl'). Port 25 keeps the full
// greeting timeout: greet-pause delays are a port-25 practice.
inline constexpr double kSilentGreetingSeconds = 5;

struct BatchItem {
  MailOptions mail;
  std::string_view message;
};

struct BatchOutcome {
  std::optional<SendResult> result;  // exactly one of the two is set
  std::optional<SmtpError> error;
};

class Session {
 public:
  // TRANSPORT is connected; with kImplicitTls the session starts TLS before the greeting.
  Session(net::Transport& transport, const SessionOptions& options);

  // Throws SmtpError for every failure, net errors included (mapped to SmtpError kinds).
  SendResult send(const MailOptions& mail, std::string_view message);
  // Several messages over this one session (RSET between them). Never throws for a
  // message's own failure: each gets its outcome. Once the connection is lost, the
  // remaining messages get that error without being tried.
  // ON_OUTCOME, when given, hears each message's outcome as soon as it is known.
  using OutcomeFn = std::function<void(std::size_t index, const BatchOutcome& outcome)>;
  std::vector<BatchOutcome> send_batch(const std::vector<BatchItem>& items, const OutcomeFn& on_outcome = {});
  // Describes the server without sending mail; with LOGIN, also runs AUTH (its outcome goes
  // into the info, it is not thrown). An untrusted certificate (only with
  // tls.report_untrusted) is reported, and nothing is authenticated over it.
  ServerInfo probe(bool login = false);

 private:
  void open();  // greeting, EHLO/HELO, STARTTLS + EHLO again
  void await_greeting();  // the early cut-off for a port that waits for TLS
  void try_login(ServerInfo& info);
  bool tls_untrusted() const;
  std::string pin_key() const;  // "HOST:PORT", the key of smtpmail-native-pinned-certificates
  SmtpError certificate_error(const std::string& what, const net::CertificateFailure& failure) const;
  SmtpError tls_failure(const net::NetError& e, const std::string& during) const;
  void hello();
  void start_tls_command();
  void start_tls_now();
  void authenticate();
  bool run_mechanism(const std::string& name);  // false: server said 504, try the next one
  void transmit(const MailOptions& mail, std::string_view message, SendResult& result);
  SendResult transaction(const MailOptions& mail, std::string_view message);  // transmit + session facts
  void stream_data(std::string_view message, std::size_t size);               // DATA: dot-stuffed on the fly
  void stream_bdat(std::string_view message, std::size_t size);              // BDAT LAST: encoded on the fly
  void quit() noexcept;
  void finish() noexcept;  // the outcome is decided: say goodbye, whatever the hooks want
  void validate(const MailOptions* mail);
  void stamp(SmtpError& e) const;  // fills in the session's facts the thrower left unset
  SmtpError from_net_error(const net::NetError& e) const;
  void reset_quietly() noexcept;
  void read_cancel_reply() noexcept;

  void send_line(std::string_view line, std::string_view trace_form = {});
  Reply read_reply(double seconds);
  Reply command(std::string_view line, double seconds, std::string_view trace_form = {});
  void note(std::string_view text);
  void progress(Phase phase, std::size_t sent = 0, std::size_t total = 0);
  bool clear_secrets_allowed() const;
  [[noreturn]] void fail_reply(const Reply& reply, const std::string& context);
  // Runs FN, turning every failure into a stamped SmtpError (a caller's abort after QUIT).
  void guarded(const std::function<void()>& fn);

  net::Transport& transport_;
  const SessionOptions& options_;
  Timeouts timeouts_;
  ReplyReader reader_;
  Phase phase_ = Phase::kConnect;
  Reply greeting_;
  Capabilities caps_;
  std::vector<std::string> caps_before_tls_;
  std::optional<net::TlsInfo> tls_;
  std::string mechanism_used_;
  std::optional<crypto::Secret> password_;  // fetched once, for the first mechanism that needs it
  std::optional<crypto::Secret> token_;     // likewise the OAuth token
  std::optional<std::string> user_;         // the user name, SASLprep'd once
  const crypto::Secret& secret_for(const std::string& mechanism);
  const std::string& prepared_user();
  sasl::PolicyInput policy_input() const;
  bool helo_only_ = false;
  double tls_ms_ = -1;         // the handshake's duration (probe timings)
  double round_trip_ms_ = -1;  // the first EHLO's
  bool sending_ = false;  // send/send_batch, not probe: a failure says what became of the message
  bool dot_written_ = false;  // this transaction's final dot (or last BDAT byte) is on the wire
  bool mid_data_ = false;     // between 354/BDAT and the final reply: no command can be sent
  bool reset_pending_ = false;  // a batch's RSET rides in the next pipelined envelope
};

SendResult send_mail(const SessionOptions& options, const MailOptions& mail, std::string_view message);
std::vector<BatchOutcome> send_batch(const SessionOptions& options, const std::vector<BatchItem>& items,
                                     const Session::OutcomeFn& on_outcome = {});
ServerInfo probe_server(const SessionOptions& options, bool login = false);

}  // namespace smtpn::smtp
