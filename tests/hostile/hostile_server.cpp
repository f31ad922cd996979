#include "hostile_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "common/enum_table.hpp"

namespace smtpn::hostile {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kAcceptWaitMs = 5000;
constexpr int kBytewisePauseUs = 1000;

int ms_left(Clock::time_point end) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

Clock::time_point after_ms(int ms) { return Clock::now() + std::chrono::milliseconds(ms); }

bool readable(int fd, int wait_ms) {
  pollfd p{fd, POLLIN, 0};
  int n;
  do {
    n = ::poll(&p, 1, wait_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0;
}

std::string openssl_errors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

// --- Connection ---------------------------------------------------------------------------------

Connection::Connection(int fd, Record& record) : fd_(fd), record_(record) {
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

Connection::~Connection() {
  if (fd_ >= 0) ::close(fd_);
}

void Connection::send_raw(std::string_view bytes) {
  while (fd_ >= 0 && !bytes.empty()) {
    // MSG_NOSIGNAL: a client that hung up must not kill the test process.
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the client is gone; the script finds out when it next reads
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

void Connection::flush_tls() {
  char buf[16384];
  int n;
  while (wbio_ && (n = BIO_read(wbio_, buf, sizeof buf)) > 0)
    send_raw(std::string_view(buf, static_cast<std::size_t>(n)));
}

void Connection::send(std::string_view bytes) {
  if (!tls()) return send_raw(bytes);
  std::size_t written = 0;
  if (!bytes.empty() && SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &written) != 1)
    ERR_clear_error();
  flush_tls();
}

void Connection::send_bytewise(std::string_view bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    send(bytes.substr(i, 1));
    ::usleep(kBytewisePauseUs);
  }
}

void Connection::multiline(int code, const std::vector<std::string>& lines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size(); ++i)
    out += std::to_string(code) + (i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
  send(out);
}

bool Connection::recv_raw(std::string& out, int wait_ms) {
  if (fd_ < 0 || eof_ || !readable(fd_, wait_ms)) return false;
  char buf[16384];
  ssize_t n;
  do {
    n = ::recv(fd_, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) {
    eof_ = true;
    record_.client_closed = true;
    return false;
  }
  out.assign(buf, static_cast<std::size_t>(n));
  return true;
}

bool Connection::fill(int wait_ms) {
  const auto end = after_ms(wait_ms);
  if (!ssl_) {
    std::string got;
    if (!recv_raw(got, wait_ms)) return false;
    record_.before_tls += got;
    in_ += got;
    return true;
  }
  if (!record_.tls_established) {
    // After a failed handshake the client sends only alerts, if anything: raw, not SMTP.
    std::string got;
    if (!recv_raw(got, wait_ms)) return false;
    record_.handshake_bytes += got;
    return true;
  }
  for (;;) {
    char buf[16384];
    std::size_t n = 0;
    if (SSL_read_ex(ssl_.get(), buf, sizeof buf, &n) == 1) {
      record_.after_tls.append(buf, n);
      in_.append(buf, n);
      return true;
    }
    const int err = SSL_get_error(ssl_.get(), 0);
    ERR_clear_error();
    flush_tls();
    if (err != SSL_ERROR_WANT_READ) {
      eof_ = true;
      record_.client_closed = true;
      return false;
    }
    std::string raw;
    if (!recv_raw(raw, ms_left(end))) return false;
    BIO_write(rbio_, raw.data(), static_cast<int>(raw.size()));
  }
}

std::optional<std::string> Connection::read_line(int wait_ms) {
  const auto end = after_ms(wait_ms);
  for (;;) {
    const std::size_t at = in_.find("\r\n");
    if (at != std::string::npos) {
      std::string line = in_.substr(0, at);
      in_.erase(0, at + 2);
      record_.lines.push_back(line);
      return line;
    }
    if (!fill(ms_left(end))) return std::nullopt;
  }
}

std::string Connection::expect(std::string_view prefix, int wait_ms) {
  auto line = read_line(wait_ms);
  if (!line) throw ScriptAbort("expected \"" + std::string(prefix) + "\", the client sent nothing more");
  if (line->compare(0, prefix.size(), prefix) != 0)
    throw ScriptAbort("expected \"" + std::string(prefix) + "\", the client sent \"" + *line + "\"");
  return *line;
}

std::optional<std::string> Connection::read_data(int wait_ms) {
  const auto end = after_ms(wait_ms);
  std::size_t searched = 0;  // the terminator does not start before this (a 5 MB message stays linear)
  for (;;) {
    std::size_t stop = std::string::npos;
    if (in_.compare(0, 3, ".\r\n") == 0) {
      stop = 3;
    } else if (const std::size_t at = in_.find("\r\n.\r\n", searched); at != std::string::npos) {
      stop = at + 5;
    }
    if (in_.size() > 4) searched = in_.size() - 4;
    if (stop != std::string::npos) {
      std::string data = in_.substr(0, stop);
      in_.erase(0, stop);
      return data;
    }
    if (!fill(ms_left(end))) return std::nullopt;
  }
}

bool Connection::wait_for_close(int wait_ms) {
  const auto end = after_ms(wait_ms);
  while (!eof_ && fd_ >= 0) {
    const int left = ms_left(end);
    if (left == 0) return false;
    fill(left);
  }
  return true;
}

bool Connection::start_tls(Cert cert, int wait_ms) {
  const auto end = after_ms(wait_ms);
  const KeyAndCert& leaf = TestPki::instance().leaf(cert);
  ctx_.reset(SSL_CTX_new(TLS_server_method()));
  ssl_.reset();
  if (!ctx_ || SSL_CTX_use_certificate(ctx_.get(), leaf.cert.get()) != 1 ||
      SSL_CTX_use_PrivateKey(ctx_.get(), leaf.key.get()) != 1) {
    record_.tls_error = "cannot set up the server context: " + openssl_errors();
    return false;
  }
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  ssl_.reset(SSL_new(ctx_.get()));
  rbio_ = BIO_new(BIO_s_mem());
  wbio_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_.get(), rbio_, wbio_);
  SSL_set_accept_state(ssl_.get());
  // Memory BIOs: the server sees (and records) every raw byte, and writes with MSG_NOSIGNAL.
  if (!in_.empty()) {
    record_.handshake_bytes += in_;
    BIO_write(rbio_, in_.data(), static_cast<int>(in_.size()));
    in_.clear();
  }
  for (;;) {
    ERR_clear_error();
    const int rc = SSL_do_handshake(ssl_.get());
    flush_tls();
    if (rc == 1) {
      record_.tls_established = true;
      return true;
    }
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err != SSL_ERROR_WANT_READ) {
      record_.tls_error = "handshake failed: " + openssl_errors();
      return false;
    }
    std::string raw;
    if (!recv_raw(raw, ms_left(end))) {
      record_.tls_error =
          eof_ ? "the client closed during the handshake" : "the client stalled the handshake";
      return false;
    }
    record_.handshake_bytes += raw;
    BIO_write(rbio_, raw.data(), static_cast<int>(raw.size()));
  }
}

void Connection::finish_close(bool notify) {
  if (fd_ < 0) return;
  if (notify && tls()) {
    SSL_shutdown(ssl_.get());
    ERR_clear_error();
    flush_tls();
  }
  ::shutdown(fd_, SHUT_WR);
  wait_for_close(kLineWaitMs);  // records what the client still says, e.g. its QUIT
  ::close(fd_);
  fd_ = -1;
}

void Connection::close() { finish_close(true); }

void Connection::close_without_notify() { finish_close(false); }

void Connection::reset() {
  if (fd_ < 0) return;
  const linger abort_now{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
  ::close(fd_);
  fd_ = -1;
}

void Connection::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void Connection::sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// --- HostileServer ------------------------------------------------------------------------------

HostileServer::HostileServer(Script script) : script_(std::move(script)) {
  TestPki::instance();  // made here, not inside a client's timeout
  thread_ = std::thread([this] { serve(); });
}

HostileServer::~HostileServer() {
  if (thread_.joinable()) thread_.join();
}

const Record& HostileServer::finish() {
  if (thread_.joinable()) thread_.join();
  return record_;
}

void HostileServer::serve() {
  if (!readable(listener_.fd(), kAcceptWaitMs)) {
    record_.script_error = "no client connected";
    return;
  }
  const int fd = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    record_.script_error = "accept failed";
    return;
  }
  record_.connected = true;
  Connection connection(fd, record_);
  try {
    script_(connection);
  } catch (const std::exception& e) {
    record_.script_error = e.what();
  }
  connection.close();
}

// --- a well-behaved server's pieces -------------------------------------------------------------

void greet(Connection& c) { c.reply("220 hostile.test ESMTP"); }

void answer_ehlo(Connection& c, const std::vector<std::string>& caps) {
  c.expect("EHLO ");
  std::vector<std::string> lines{"hostile.test"};
  lines.insert(lines.end(), caps.begin(), caps.end());
  c.multiline(250, lines);
}

bool open_starttls(Connection& c, const std::vector<std::string>& caps, Cert cert) {
  greet(c);
  std::vector<std::string> offered = caps;
  offered.emplace_back("STARTTLS");
  answer_ehlo(c, offered);
  c.expect("STARTTLS");
  c.reply("220 2.0.0 go ahead");
  return c.start_tls(cert);
}

namespace {

struct HangUpWay {
  HangUp value;
  const char* name;
  void (Connection::*end)();
};

constexpr HangUpWay kHangUps[] = {
    {HangUp::kCloseNotify, "close_notify, then FIN", &Connection::close},
    {HangUp::kFin, "FIN without close_notify", &Connection::close_without_notify},
    {HangUp::kReset, "RST", &Connection::reset},
};
static_assert(rows_follow_enum(kHangUps, HangUp::kReset), "one row per HangUp, in its order");

}  // namespace

void hang_up(Connection& c, HangUp how) { (c.*row_of(kHangUps, how)->end)(); }

const char* hang_up_name(HangUp how) { return row_of(kHangUps, how)->name; }

std::string serve_transaction(Connection& c) {
  c.expect("MAIL FROM:");
  c.reply("250 2.1.0 sender ok");
  std::string line = c.expect("RCPT TO:");
  while (line.compare(0, 8, "RCPT TO:") == 0) {
    c.reply("250 2.1.5 recipient ok");
    line = c.expect("");
  }
  if (line != "DATA") throw ScriptAbort("expected DATA, the client sent \"" + line + "\"");
  c.reply("354 go ahead");
  auto data = c.read_data();
  if (!data) throw ScriptAbort("the message did not arrive");
  c.reply("250 2.0.0 queued as HOSTILE1");
  c.expect("QUIT");
  c.reply("221 2.0.0 bye");
  return *data;
}

}  // namespace smtpn::hostile
