// libFuzzer target for the session state machine: the fuzz input is everything a server
// says (split into segments at 0xFF bytes; a 0xFE byte makes the server hang up there), fed
// to smtp::Session over an in-memory transport with fake TLS, through greeting, EHLO/HELO,
// STARTTLS, AUTH (PLAIN, LOGIN, CRAM-MD5 and SCRAM offered by whatever EHLO says) and
// DATA/BDAT. Every run ends in a result or an SmtpError, and the client's own bytes obey the
// rules whatever was said: with STARTTLS required nothing but EHLO/HELO/STARTTLS/QUIT goes
// out in the clear; the password never goes out in the clear; MAIL only after a 2xx
// greeting; success only after the message's end was written.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>

#include "crypto/base64.hpp"
#include "net/error.hpp"
#include "net/transport.hpp"
#include "smtp/error.hpp"
#include "smtp/session.hpp"
#include "property.hpp"

namespace {

using namespace smtpn;

constexpr std::string_view kPassword = "fuzz-Pa55word-secret";

using smtpn::fuzz::require;

class FuzzTransport final : public net::Transport {
 public:
  explicit FuzzTransport(std::string_view input) {
    std::string segment;
    for (char c : input) {
      if (c == '\xFF' || c == '\xFE') {
        if (!segment.empty()) segments_.push_back(segment);
        segment.clear();
        if (c == '\xFE') break;  // hang up here
      } else {
        segment.push_back(c);
      }
    }
    if (!segment.empty()) segments_.push_back(segment);
  }

  std::size_t read_some(char* buf, std::size_t size, net::Deadline) override {
    if (segments_.empty()) throw net::NetError(net::NetError::Kind::kClosed, "the fuzz server hung up");
    std::string& seg = segments_.front();
    const std::size_t n = std::min(size, seg.size());
    std::copy_n(seg.data(), n, buf);
    seg.erase(0, n);
    if (seg.empty()) segments_.pop_front();
    return n;
  }
  void write_all(std::string_view bytes, net::Deadline) override {
    (tls_ ? after_tls : before_tls).append(bytes);
  }
  bool has_pending_input() override { return !segments_.empty(); }
  net::TlsInfo start_tls(const net::TlsOptions&, net::Deadline) override {
    tls_ = true;
    net::TlsInfo info;
    info.protocol = "TLSv1.3";
    info.verified = true;
    return info;
  }
  bool is_tls() const override { return tls_; }
  bool peer_is_loopback() const override { return false; }
  std::string peer_address() const override { return "192.0.2.1"; }
  void close() noexcept override {}

  std::string before_tls, after_tls;

 private:
  std::deque<std::string> segments_;
  bool tls_ = false;
};

bool starts_with_any_clear_command(std::string_view line) {
  for (std::string_view ok : {"EHLO ", "HELO ", "STARTTLS", "QUIT"})
    if (line.substr(0, ok.size()) == ok) return true;
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::uint8_t mode = data[0];
  FuzzTransport transport(input);

  smtp::SessionOptions options;
  options.host = "mx.example.org";
  options.helo = "client.test";
  options.stream_type = (mode & 1) ? smtp::StreamType::kStartTls : smtp::StreamType::kOpportunistic;
  options.plaintext_auth = smtp::PlaintextAuth::kNever;
  options.timeout_seconds = 5;
  options.limits = {256, 16};
  if (mode & 2) {
    options.user = "alice";
    options.password = [] { return crypto::Secret(kPassword); };
  }
  options.scram_max_iterations = 4096;  // bounded work per input
  smtp::MailOptions mail;
  mail.from = "alice@example.org";
  mail.recipients = {"bob@example.net", "carol@example.net"};
  mail.allow_partial = (mode & 4) != 0;

  bool succeeded = false;
  try {
    smtp::Session session(transport, options);
    session.send(mail, "Subject: fuzz\r\n\r\n.dot\r\nbody\r\n");
    succeeded = true;
  } catch (const smtp::SmtpError&) {
  }

  const std::string& clear = transport.before_tls;
  // With STARTTLS required, only the commands that lead to TLS cross in the clear.
  if (options.stream_type == smtp::StreamType::kStartTls) {
    std::size_t pos = 0;
    while (pos < clear.size()) {
      const std::size_t end = clear.find("\r\n", pos);
      require(end != std::string::npos, "a clear-text write without CRLF");
      require(starts_with_any_clear_command(std::string_view(clear).substr(pos, end - pos)),
              "a command other than EHLO/HELO/STARTTLS/QUIT in the clear with STARTTLS required");
      pos = end + 2;
    }
    require(!succeeded || transport.is_tls(), "sent without TLS although STARTTLS was required");
  }
  // The password, raw or in the PLAIN/LOGIN encodings, never in the clear (kNever).
  for (const std::string& form :
       {std::string(kPassword), crypto::base64_encode(kPassword),
        crypto::base64_encode(std::string("\0alice\0", 7) + std::string(kPassword))})
    require(clear.find(form) == std::string::npos, "the password crossed in the clear");
  if (succeeded) {
    const std::string wire = clear + transport.after_tls;
    require(wire.find("MAIL FROM:<alice@example.org>") != std::string::npos, "success without MAIL");
    require(wire.find("\r\n.\r\n") != std::string::npos || wire.find(" LAST\r\n") != std::string::npos,
            "success without the end of the message");
  }
  return 0;
}
