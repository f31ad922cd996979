// The client side of a hostile scenario: the real smtp::send_mail (what send_bindings.cpp
// calls for smtpmail-native-send) over the real socket/TLS transport to the hostile server.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "error_kind_names.hpp"
#include "crypto/secret.hpp"
#include "hostile_certs.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/session.hpp"

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

// Options for the hostile server at 127.0.0.1:PORT: STARTTLS required, the test CA trusted,
// short timeouts (a scenario never waits long for a client that should have given up).
inline smtp::SessionOptions hostile_options(const std::string& port) {
  smtp::SessionOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.stream_type = smtp::StreamType::kStartTls;
  o.helo = "client.test";
  o.tls.trust_file = TestPki::instance().ca_file();
  o.timeout_seconds = 1.5;
  return o;
}

// The same in the clear (stream type plain), for scenarios about the SMTP dialogue itself.
inline smtp::SessionOptions plain_options(const std::string& port) {
  smtp::SessionOptions o = hostile_options(port);
  o.stream_type = smtp::StreamType::kPlain;
  return o;
}

// The commands of one plain transaction for hostile_mail(), as the server's Record::lines.
inline const std::vector<std::string>& one_transaction_lines() {
  static const std::vector<std::string> lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                              "RCPT TO:<bob@example.net>", "DATA", "QUIT"};
  return lines;
}

// The same with AUTH as kUser / kPassword.
inline smtp::SessionOptions hostile_auth_options(const std::string& port) {
  smtp::SessionOptions o = hostile_options(port);
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

// Runs one send with OPTIONS (its trace is replaced by the outcome's) and returns how it ended.
inline Outcome run_send(smtp::SessionOptions options, const smtp::MailOptions& mail = hostile_mail(),
                        std::string_view message = kMessage) {
  Outcome out;
  options.trace = [&out](std::string_view line) { out.trace.emplace_back(line); };
  const auto start = std::chrono::steady_clock::now();
  try {
    out.result = smtp::send_mail(options, mail, message);
  } catch (const smtp::SmtpError& e) {
    out.error = e;
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace smtpn::hostile

