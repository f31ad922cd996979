// The in-memory SMTP peer of the protocol tests: ScriptedTransport is a net::Transport whose
// server side reacts to each complete client line, frames DATA and BDAT payloads, fakes TLS and
// deadlines (virtual time, so tests never sleep) and records every byte the client wrote;
// SmtpServer is a well-behaved ESMTP server on top of it whose answers a test overrides.
#pragma once

#include <algorithm>
#include <climits>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "error_kind_names.hpp"
#include "net/error.hpp"
#include "net/transport.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/session.hpp"
#include "support/mail_options.hpp"
#include "support/rfc2195.hpp"

namespace smtpn::test {

class ScriptedTransport final : public net::Transport {
 public:
  // Called once per complete client command line (without its CRLF). After message data it
  // is called with "." (DATA) or with the BDAT line once the chunk has arrived.
  using Handler = std::function<void(ScriptedTransport&, std::string_view line)>;

  struct Write {
    std::string bytes;
    bool tls;  // written after start_tls
  };

  ScriptedTransport() = default;
  explicit ScriptedTransport(Handler handler) : handler_(std::move(handler)) {}

  void set_handler(Handler handler) { handler_ = std::move(handler); }
  std::function<void(ScriptedTransport&)> on_tls;  // the server's move once TLS is up

  // --- configuration ---
  bool loopback = false;                           // peer_is_loopback()
  std::function<bool()> interrupt;                 // C-g: checked before every read
  bool fail_tls = false;                           // start_tls throws NetError(kTls)
  std::optional<net::ChannelBindingData> binding;  // channel_binding() once TLS is up

  // --- the server's side ---
  // Queues one segment: one read_some returns bytes of at most one segment. A segment with a
  // delay arrives DELAY_MS after the client starts waiting: a read whose deadline is sooner
  // throws NetError(kTimeout) instead (virtual time).
  void send(std::string_view bytes, int delay_ms = 0) {
    if (!bytes.empty() && !hung_up_) segments_.push_back({std::string(bytes), 0, delay_ms});
  }
  void send_bytewise(std::string_view bytes) {
    for (char c : bytes) send(std::string_view(&c, 1));
  }
  // EOF once the queued segments are read; the server hears and says nothing more.
  // RESET: from now on the client's writes fail (EPIPE).
  void hang_up(bool reset = false) {
    hung_up_ = true;
    reset_ = reset_ || reset;
  }
  // Hang up with a reset once the client has made N more writes (a drop in mid-stream).
  void break_after_writes(std::size_t n) { writes_left_ = n; }
  // The bytes after the current line are message data, up to and including CRLF "." CRLF.
  void start_data() {
    mode_ = Mode::kData;
    data_.clear();
  }

  // --- what the client did ---
  const std::vector<Write>& writes() const { return writes_; }
  std::string wire() const {
    return joined([](const Write&) { return true; });
  }
  std::string wire_before_tls() const {
    return joined([](const Write& w) { return !w.tls; });
  }
  std::string wire_after_tls() const {
    return joined([](const Write& w) { return w.tls; });
  }
  // Command lines in order (without CRLF), "." for each end of DATA; message bytes excluded.
  const std::vector<std::string>& lines() const { return lines_; }
  // Each DATA payload as on the wire (dot-stuffed, terminator included) and each BDAT chunk.
  const std::vector<std::string>& messages() const { return messages_; }
  bool tls_started() const { return tls_; }
  int tls_attempts() const { return tls_attempts_; }
  const net::TlsOptions& tls_options() const { return tls_options_; }
  std::size_t bytes_read() const { return bytes_read_; }            // delivered to the client
  std::size_t read_before_tls() const { return read_before_tls_; }  // when start_tls was called
  std::size_t written_before_tls() const { return written_before_tls_; }
  std::size_t queued_at_tls() const { return queued_at_tls_; }  // plaintext left unread at start_tls
  std::size_t queued() const {
    std::size_t n = 0;
    for (const auto& s : segments_) n += s.bytes.size() - s.pos;
    return n;
  }
  bool closed() const { return closed_; }

  // --- net::Transport ---
  std::size_t read_some(char* buf, std::size_t size, net::Deadline deadline) override {
    if (interrupt && interrupt()) throw net::NetError(net::NetError::Kind::kInterrupted, "interrupted (scripted)");
    if (segments_.empty()) {
      if (hung_up_) throw net::NetError(net::NetError::Kind::kClosed, "connection closed by the server");
      throw net::NetError(net::NetError::Kind::kTimeout, "the scripted server never answered");
    }
    Segment& seg = segments_.front();
    if (seg.delay_ms > 0) {
      if (seg.delay_ms > deadline.poll_timeout_ms(INT_MAX))
        throw net::NetError(net::NetError::Kind::kTimeout, "the scripted server answered too late");
      seg.delay_ms = 0;
    }
    const std::size_t n = std::min(size, seg.bytes.size() - seg.pos);
    std::copy_n(seg.bytes.data() + seg.pos, n, buf);
    seg.pos += n;
    if (seg.pos == seg.bytes.size()) segments_.pop_front();
    bytes_read_ += n;
    return n;
  }

  void write_all(std::string_view bytes, net::Deadline) override {
    if (writes_left_ && (*writes_left_)-- == 0) hang_up(true);
    if (reset_) throw net::NetError(net::NetError::Kind::kIo, "write failed: Broken pipe (scripted)");
    writes_.push_back({std::string(bytes), tls_});
    in_.append(bytes);
    serve();
  }

  bool has_pending_input() override { return !segments_.empty() && segments_.front().delay_ms == 0; }

  net::TlsInfo start_tls(const net::TlsOptions& options, net::Deadline) override {
    ++tls_attempts_;
    tls_options_ = options;
    if (fail_tls) throw net::NetError(net::NetError::Kind::kTls, "certificate verify failed (scripted)");
    // Plaintext still queued would be garbage to a real TLS layer: count it and drop it.
    queued_at_tls_ = queued();
    segments_.clear();
    tls_ = true;
    read_before_tls_ = bytes_read_;
    written_before_tls_ = wire_before_tls().size();
    if (on_tls) on_tls(*this);
    net::TlsInfo info;
    info.protocol = "TLSv1.3";
    info.cipher = "TEST";
    info.verified = true;
    info.verify_result = "ok";
    return info;
  }

  bool is_tls() const override { return tls_; }
  std::optional<net::ChannelBindingData> channel_binding() const override {
    return tls_ ? binding : std::nullopt;
  }
  bool peer_is_loopback() const override { return loopback; }
  std::string peer_address() const override { return loopback ? "127.0.0.1" : "192.0.2.25"; }
  void close() noexcept override { closed_ = true; }

 private:
  enum class Mode { kCommand, kData, kBdat };
  struct Segment {
    std::string bytes;
    std::size_t pos;
    int delay_ms;
  };

  template <class Pred>
  std::string joined(Pred pred) const {
    std::string out;
    for (const auto& w : writes_)
      if (pred(w)) out += w.bytes;
    return out;
  }

  void dispatch(std::string_view line) {
    if (handler_ && !hung_up_) handler_(*this, line);
  }

  // Frames what the client wrote so far into lines, DATA payloads and BDAT chunks.
  void serve() {
    for (;;) {
      if (mode_ == Mode::kCommand) {
        const std::size_t end = in_.find("\r\n");
        if (end == std::string::npos) return;
        std::string line = in_.substr(0, end);
        in_.erase(0, end + 2);
        lines_.push_back(line);
        if (line.size() > 5 && (line.compare(0, 5, "BDAT ") == 0 || line.compare(0, 5, "bdat ") == 0)) {
          mode_ = Mode::kBdat;
          bdat_line_ = line;
          bdat_left_ = std::stoull(line.substr(5));
          data_.clear();
          continue;
        }
        dispatch(line);
      } else if (mode_ == Mode::kData) {
        const std::size_t scanned = data_.size();
        data_ += in_;
        in_.clear();
        std::size_t end = std::string::npos;
        if (data_.compare(0, 3, ".\r\n") == 0) {
          end = 3;
        } else {
          const std::size_t at = data_.find("\r\n.\r\n", scanned < 4 ? 0 : scanned - 4);
          if (at != std::string::npos) end = at + 5;
        }
        if (end == std::string::npos) return;
        in_ = data_.substr(end);
        data_.resize(end);
        messages_.push_back(std::move(data_));
        data_.clear();
        mode_ = Mode::kCommand;
        lines_.emplace_back(".");
        dispatch(".");
      } else {
        const std::size_t n = std::min<std::size_t>(bdat_left_, in_.size());
        data_.append(in_, 0, n);
        in_.erase(0, n);
        bdat_left_ -= n;
        if (bdat_left_ > 0) return;
        messages_.push_back(std::move(data_));
        data_.clear();
        mode_ = Mode::kCommand;
        dispatch(bdat_line_);
      }
    }
  }

  Handler handler_;
  std::deque<Segment> segments_;
  bool hung_up_ = false;
  bool reset_ = false;
  std::optional<std::size_t> writes_left_;
  bool tls_ = false;
  bool closed_ = false;
  int tls_attempts_ = 0;
  net::TlsOptions tls_options_;
  std::size_t bytes_read_ = 0;
  std::size_t read_before_tls_ = 0;
  std::size_t written_before_tls_ = 0;
  std::size_t queued_at_tls_ = 0;
  std::vector<Write> writes_;
  std::vector<std::string> lines_;
  std::vector<std::string> messages_;
  std::string in_;
  Mode mode_ = Mode::kCommand;
  std::string data_;
  std::string bdat_line_;
  std::size_t bdat_left_ = 0;
};

// One server answer to one client line.
struct Answer {
  Answer(const char* reply) : text(reply) {}
  Answer(std::string reply) : text(std::move(reply)) {}

  std::string text;    // CRLF is appended unless it ends in "\n" or as_is; empty: say nothing
  bool as_is = false;  // send TEXT exactly (bare LF, no line end, injected extras, ...)
  bool bytewise = false;
  int delay_ms = 0;
  bool hang_up = false;  // close after TEXT
  bool reset = false;    // and fail the client's further writes
};

// Modifiers; they compose: hang_up(as_is("250-half a reply")).
inline Answer silence() { return Answer(std::string()); }
inline Answer as_is(Answer a) {
  a.as_is = true;
  return a;
}
inline Answer bytewise(Answer a) {
  a.bytewise = true;
  return a;
}
inline Answer delayed(int ms, Answer a) {
  a.delay_ms = ms;
  return a;
}
inline Answer hang_up(Answer a = silence()) {
  a.hang_up = true;
  return a;
}
inline Answer reset_after(Answer a = silence()) {
  a.hang_up = true;
  a.reset = true;
  return a;
}

// A compliant ESMTP server: greeting, EHLO with `ehlo` (or `ehlo_tls` inside TLS), HELO,
// STARTTLS, AUTH PLAIN/LOGIN/CRAM-MD5 (any credentials), MAIL, RCPT, DATA, BDAT, RSET, QUIT.
class SmtpServer {
 public:
  Answer greeting = "220 mx.test ESMTP ready";
  std::vector<std::string> ehlo = {"PIPELINING", "8BITMIME", "ENHANCEDSTATUSCODES"};
  std::optional<std::vector<std::string>> ehlo_tls;  // default: `ehlo` without STARTTLS
  bool implicit_tls = false;                         // greet only once TLS is up

  // The next client line starting with PREFIX gets ANSWERS[0]; the lines right after it get
  // the rest, whatever they say (an AUTH exchange, a pipelined batch). Each rule fires once,
  // rules are tried in the order given, before the defaults.
  SmtpServer& on(std::string prefix, std::vector<Answer> answers) {
    rules_.push_back({std::move(prefix), std::move(answers), false});
    return *this;
  }
  // Sees every line first; returns true when it answered it.
  std::function<bool(ScriptedTransport&, std::string_view)> custom;

  void attach(ScriptedTransport& t) {
    t.set_handler(std::ref(*this));
    if (implicit_tls)
      t.on_tls = [this](ScriptedTransport& tt) { answer(tt, {}, greeting); };
    else
      answer(t, {}, greeting);
  }

  void operator()(ScriptedTransport& t, std::string_view line) {
    if (custom && custom(t, line)) return;
    if (!owed_.empty()) {
      const Answer a = owed_.front();
      owed_.pop_front();
      return answer(t, line, a);
    }
    for (auto& rule : rules_) {
      if (rule.used || line.substr(0, rule.prefix.size()) != rule.prefix) continue;
      rule.used = true;
      owed_.assign(rule.answers.begin() + 1, rule.answers.end());
      return answer(t, line, rule.answers.front());
    }
    defaults(t, line);
  }

  static void answer(ScriptedTransport& t, std::string_view line, const Answer& a) {
    if (!a.text.empty()) {
      std::string wire = a.text;
      if (!a.as_is && wire.back() != '\n') wire += "\r\n";
      if (a.bytewise)
        t.send_bytewise(wire);
      else
        t.send(wire, a.delay_ms);
    }
    if (a.hang_up) t.hang_up(a.reset);
    // A 354 (possibly at the end of a pipelined batch's replies) turns the stream to data.
    if (line == "DATA" && (a.text.compare(0, 3, "354") == 0 || a.text.find("\n354") != std::string::npos))
      t.start_data();
  }

 private:
  struct Rule {
    std::string prefix;
    std::vector<Answer> answers;
    bool used;
  };

  static bool starts(std::string_view line, std::string_view prefix) {
    return line.substr(0, prefix.size()) == prefix;
  }

  void defaults(ScriptedTransport& t, std::string_view line) {
    if (starts(line, "EHLO ")) {
      std::vector<std::string> caps = ehlo;
      if (t.is_tls()) {
        if (ehlo_tls)
          caps = *ehlo_tls;
        else
          caps.erase(std::remove(caps.begin(), caps.end(), "STARTTLS"), caps.end());
      }
      std::string reply = caps.empty() ? "250 mx.test\r\n" : "250-mx.test\r\n";
      for (std::size_t i = 0; i < caps.size(); ++i)
        reply += (i + 1 < caps.size() ? "250-" : "250 ") + caps[i] + "\r\n";
      return answer(t, line, as_is(reply));
    }
    if (starts(line, "HELO ")) return answer(t, line, "250 mx.test");
    if (line == "STARTTLS") return answer(t, line, t.is_tls() ? "503 5.5.1 already" : "220 2.0.0 go ahead");
    if (starts(line, "AUTH PLAIN ")) return answer(t, line, "235 2.7.0 accepted");
    if (line == "AUTH PLAIN") {
      owed_ = {"235 2.7.0 accepted"};
      return answer(t, line, "334 ");
    }
    if (line == "AUTH LOGIN") {
      owed_ = {"334 UGFzc3dvcmQ6", "235 2.7.0 accepted"};
      return answer(t, line, "334 VXNlcm5hbWU6");
    }
    if (line == "AUTH CRAM-MD5") {
      owed_ = {"235 2.7.0 accepted"};
      return answer(t, line, std::string("334 ") + kRfc2195Challenge);
    }
    if (starts(line, "AUTH ")) return answer(t, line, "504 5.5.4 unrecognized mechanism");
    if (starts(line, "MAIL FROM:")) return answer(t, line, "250 2.1.0 sender ok");
    if (starts(line, "RCPT TO:")) return answer(t, line, "250 2.1.5 recipient ok");
    if (line == "DATA") return answer(t, line, "354 end with <CRLF>.<CRLF>");
    if (line == "." || starts(line, "BDAT ")) return answer(t, line, "250 2.0.0 queued as 4711");
    if (line == "RSET") return answer(t, line, "250 2.0.0 reset");
    if (line == "QUIT") return answer(t, line, hang_up("221 2.0.0 bye"));
    answer(t, line, "500 5.5.2 unrecognized command");
  }

  std::vector<Rule> rules_;
  std::deque<Answer> owed_;  // answers due to the next client lines
};

inline constexpr std::string_view kMessage = "From: alice@example.org\r\nSubject: hi\r\n\r\nHello.\r\n";

// A Session over a SmtpServer: the options, the mail and the trace a test inspects.
struct Exchange {
  SmtpServer server;
  ScriptedTransport transport;
  smtp::SessionOptions options = default_options();
  smtp::MailOptions mail = mail_from_to("alice@example.org", "bob@example.net");
  std::vector<std::string> trace;

  static smtp::SessionOptions default_options() {
    smtp::SessionOptions o;
    o.host = "mx.test";
    o.helo = "client.test";
    o.timeout_seconds = 5;
    return o;
  }

  void prepare() {
    options.trace = [this](std::string_view line) { trace.emplace_back(line); };
    server.attach(transport);
  }
  smtp::SendResult send(std::string_view message = kMessage) {
    prepare();
    smtp::Session session(transport, options);
    return session.send(mail, message);
  }
  smtp::ServerInfo probe() {
    prepare();
    smtp::Session session(transport, options);
    return session.probe();
  }
  // The SmtpError the send ends with, or nothing when it succeeded.
  std::optional<smtp::SmtpError> failure(std::string_view message = kMessage) {
    try {
      send(message);
    } catch (const smtp::SmtpError& e) {
      return e;
    }
    return std::nullopt;
  }
  // failure() that must happen, with an error of KIND (else the test fails); the error.
  std::optional<smtp::SmtpError> failure_of(smtp::SmtpError::Kind kind, std::string_view message = kMessage) {
    auto err = failure(message);
    REQUIRE(err);
    INFO(err->what());
    CHECK(err->kind() == kind);
    return err;
  }
  bool traced(std::string_view needle) const {
    return std::any_of(trace.begin(), trace.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
};

}  // namespace smtpn::test
