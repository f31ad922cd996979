// The client side of a hostile scenario: the real smtp::send_mail (what send_bindings.cpp
// calls for smtpmail-native-send) over the real socket/TLS transport to the hostile server.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "error_kind_names.hpp"
#include "crypto/secret.hpp"
#include "hostile_certs.hpp"
#include "hostile_server.hpp"
#include "net/socket_transport.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/session.hpp"
#include "support/loopback_session.hpp"

namespace smtpn::hostile {

inline constexpr std::string_view kMessage = "From: alice@example.org\r\nSubject: hi\r\n\r\nHello.\r\n";
inline constexpr const char* kUser = "alice";
inline constexpr const char* kPassword = "s3cret-Pa55word";

inline bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

struct Outcome {
  std::optional<smtp::SendResult> result;  // exactly one of the two is set
  std::optional<smtp::SmtpError> error;
  std::vector<std::string> trace;  // every trace line the session produced
  double seconds = 0;              // how long the send took

  bool traced(std::string_view needle) const {
    for (const auto& line : trace)
      if (line.find(needle) != std::string::npos) return true;
    return false;
  }
  std::string error_text() const { return error ? error->what() : std::string(); }
};

// Options for the hostile server at 127.0.0.1:PORT: STARTTLS required (or another STREAM
// type), the test CA trusted, short timeouts (a scenario never waits long for a client that
// should have given up).
inline smtp::SessionOptions hostile_options(const std::string& port,
                                            smtp::StreamType stream = smtp::StreamType::kStartTls) {
  smtp::SessionOptions o = test::loopback_session(port, stream, 1.5);
  o.helo = "client.test";
  o.tls.trust_file = TestPki::instance().ca_file();
  return o;
}

// The same in the clear (stream type plain), for scenarios about the SMTP dialogue itself.
inline smtp::SessionOptions plain_options(const std::string& port) {
  return hostile_options(port, smtp::StreamType::kPlain);
}

// The commands of one plain transaction for hostile_mail(), as the server's Record::lines.
inline const std::vector<std::string>& one_transaction_lines() {
  static const std::vector<std::string> lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                              "RCPT TO:<bob@example.net>", "DATA", "QUIT"};
  return lines;
}

// The same with AUTH as kUser / kPassword.
inline smtp::SessionOptions hostile_auth_options(const std::string& port,
                                                 smtp::StreamType stream = smtp::StreamType::kStartTls) {
  smtp::SessionOptions o = hostile_options(port, stream);
  o.user = kUser;
  o.password = [] { return crypto::Secret(kPassword); };
  return o;
}

inline smtp::MailOptions hostile_mail() {
  smtp::MailOptions m;
  m.from = "alice@example.org";
  m.recipients = {"bob@example.net"};
  return m;
}

// Runs SEND(OPTIONS) with OPTIONS's trace replaced by the outcome's, and returns how it ended.
template <class Send>
Outcome run_traced(smtp::SessionOptions options, Send send) {
  Outcome out;
  options.trace = [&out](std::string_view line) { out.trace.emplace_back(line); };
  const auto start = std::chrono::steady_clock::now();
  try {
    out.result = send(options);
  } catch (const smtp::SmtpError& e) {
    out.error = e;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

// Runs one send with OPTIONS (its trace is replaced by the outcome's) and returns how it ended.
inline Outcome run_send(smtp::SessionOptions options, const smtp::MailOptions& mail = hostile_mail(),
                        std::string_view message = kMessage) {
  return run_traced(std::move(options), [&](const smtp::SessionOptions& o) {
    return smtp::send_mail(o, mail, message);
  });
}

// The real socket transport, reporting its peer as remote: the hostile server listens on
// 127.0.0.1 only, and a scenario about a server elsewhere must not get the loopback exemption
// of the plaintext policy (PlaintextAuth::kLoopback, the default).
class RemotePeer final : public net::Transport {
 public:
  explicit RemotePeer(std::unique_ptr<net::Transport> inner) : inner_(std::move(inner)) {}
  std::size_t read_some(char* buf, std::size_t size, net::Deadline d) override {
    return inner_->read_some(buf, size, d);
  }
  void write_all(std::string_view bytes, net::Deadline d) override { inner_->write_all(bytes, d); }
  bool has_pending_input() override { return inner_->has_pending_input(); }
  net::TlsInfo start_tls(const net::TlsOptions& o, net::Deadline d) override { return inner_->start_tls(o, d); }
  bool is_tls() const override { return inner_->is_tls(); }
  std::optional<net::ChannelBindingData> channel_binding() const override { return inner_->channel_binding(); }
  bool peer_is_loopback() const override { return false; }
  std::string peer_address() const override { return "192.0.2.25"; }  // TEST-NET-1 (RFC 5737)
  void close() noexcept override { inner_->close(); }

 private:
  std::unique_ptr<net::Transport> inner_;
};

// run_send, with the server seen as remote (RemotePeer) by the session.
inline Outcome run_send_as_remote(smtp::SessionOptions options, const smtp::MailOptions& mail = hostile_mail(),
                                  std::string_view message = kMessage) {
  return run_traced(std::move(options), [&](const smtp::SessionOptions& o) {
    RemotePeer transport(net::SocketTransport::connect(o.host, o.port, net::Deadline::after_seconds(5), {}));
    REQUIRE_FALSE(transport.peer_is_loopback());
    return smtp::Session(transport, o).send(mail, message);
  });
}

// One send to a HostileServer: the client's outcome, and what the server saw (its record, read
// once the script has ended).
struct SentAndSeen {
  Outcome out;
  const Record& rec;
};

// Sends MESSAGE with OPTIONS and MAIL (run_send) to SERVER, then waits for its script.
inline SentAndSeen send_to(HostileServer& server, smtp::SessionOptions options,
                           const smtp::MailOptions& mail = hostile_mail(), std::string_view message = kMessage) {
  Outcome out = run_send(std::move(options), mail, message);
  return {std::move(out), server.finish()};
}

// The same with the server seen as remote (run_send_as_remote).
inline SentAndSeen send_as_remote_to(HostileServer& server, smtp::SessionOptions options) {
  Outcome out = run_send_as_remote(std::move(options));
  return {std::move(out), server.finish()};
}

// send_to() for a send that must deliver: it fails, showing the client's error and where the
// server's script stopped, when the send did not.
inline SentAndSeen deliver_to(HostileServer& server, smtp::SessionOptions options) {
  SentAndSeen sent = send_to(server, std::move(options));
  INFO(sent.out.error_text());
  INFO(sent.rec.script_error);
  REQUIRE(sent.out.result);
  return sent;
}

}  // namespace smtpn::hostile

