// A scripted hostile SMTP server for the in-process attack suite: a thread with a listening
// socket on 127.0.0.1 (ephemeral port) that accepts one connection and runs a script against
// it over real TCP and real (server-side) OpenSSL TLS, recording every byte the client sent.
// The script is ordinary code: it says exactly what a malicious or broken server would say,
// byte by byte if needed, and may start TLS with any certificate, hang up or reset.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "crypto/openssl_ptr.hpp"
#include "hostile_certs.hpp"
#include "support/loopback_listener.hpp"
#include "support/non_copyable.hpp"

namespace smtpn::hostile {

// How long a script waits for a client line before it gives up (the client's own timeouts in
// the scenarios are shorter, so a silent client is noticed, never waited for).
inline constexpr int kLineWaitMs = 3000;

// What the client did, as the server saw it. Read it after HostileServer::finish().
struct Record {
  std::string before_tls;          // every byte the client sent before the server started TLS
  std::string after_tls;           // every byte the client sent inside TLS (decrypted)
  std::string handshake_bytes;     // the raw bytes the client sent during the server's handshake
  std::vector<std::string> lines;  // the lines read_line() returned, in order (both phases)
  bool connected = false;          // a client connected at all
  bool tls_established = false;
  std::string tls_error;       // why the server-side handshake failed, if it did
  std::string script_error;    // the script stopped early: what it expected and what it got
  bool client_closed = false;  // the server saw the client's EOF or reset
};

// Thrown by Connection::expect() when the client does something other than the script expects;
// the server records it in Record::script_error and ends the connection.
class ScriptAbort : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Connection : test::NonCopyable {
 public:
  explicit Connection(int fd, Record& record);
  ~Connection();

  // --- writing (in the clear, or inside TLS once start_tls succeeded) ---
  void send(std::string_view bytes);
  // One byte per TCP segment (TCP_NODELAY and a short pause between bytes).
  void send_bytewise(std::string_view bytes);
  void reply(std::string_view line) { send(std::string(line) + "\r\n"); }
  // BYTES straight onto the socket even inside TLS: what a man in the middle could inject.
  void send_raw(std::string_view bytes);
  // "250-first\r\n250-...\r\n250 last\r\n" for CODE and LINES.
  void multiline(int code, const std::vector<std::string>& lines);

  // --- reading ---
  // The next line the client sent, without its CRLF; nullopt on EOF, reset or after WAIT_MS.
  std::optional<std::string> read_line(int wait_ms = kLineWaitMs);
  // read_line() that must start with PREFIX, else ScriptAbort.
  std::string expect(std::string_view prefix, int wait_ms = kLineWaitMs);
  // DATA's payload up to and including CRLF "." CRLF; nullopt when it does not arrive.
  std::optional<std::string> read_data(int wait_ms = kLineWaitMs);
  // Reads (and records) until the client closes; false if it has not after WAIT_MS.
  bool wait_for_close(int wait_ms = kLineWaitMs);

  // --- TLS: a server-side OpenSSL handshake on this socket with CERT ---
  // False when the handshake fails (Record::tls_error says why); the script goes on.
  bool start_tls(Cert cert, int wait_ms = kLineWaitMs);
  bool tls() const { return ssl_ != nullptr && record_.tls_established; }

  // --- ending (the server ends the connection gracefully by itself after the script) ---
  // close_notify (inside TLS), FIN, then read what the client still sends until it closes.
  void close();
  // FIN without close_notify: a TLS EOF the client must not mistake for a clean end.
  void close_without_notify();
  // RST (SO_LINGER 0): the client's reads and writes fail at once.
  void reset();
  // FIN only, nothing read or closed: the client may still write (a half-closed peer; a reset
  // after it makes the client's next write fail with EPIPE rather than ECONNRESET).
  void shutdown_write();
  bool closed() const { return fd_ < 0; }

  void sleep(int ms);

 private:
  bool fill(int wait_ms);  // more client bytes into in_; false on EOF, error or timeout
  bool recv_raw(std::string& out, int wait_ms);
  void flush_tls();
  void finish_close(bool notify);

  int fd_;
  Record& record_;
  std::string in_;  // received (decrypted) bytes not yet consumed by the script
  bool eof_ = false;
  crypto::SslCtxPtr ctx_;
  crypto::SslPtr ssl_;
  BIO* rbio_ = nullptr;  // owned by ssl_
  BIO* wbio_ = nullptr;
};

using Script = std::function<void(Connection&)>;

class HostileServer : test::NonCopyable {
 public:
  explicit HostileServer(Script script);
  ~HostileServer();

  const std::string& port() const { return listener_.port(); }
  // Waits for the script (every wait in it has a deadline) and returns what the client sent.
  const Record& finish();

 private:
  void serve();

  Script script_;
  test::LoopbackListener listener_;
  Record record_;
  std::thread thread_;
};

// --- pieces of a well-behaved server, for scripts to compose ---

// "220 hostile.test ESMTP".
void greet(Connection& c);
// Reads EHLO and answers 250 with CAPS.
void answer_ehlo(Connection& c, const std::vector<std::string>& caps);
// Greeting, EHLO offering CAPS and STARTTLS, STARTTLS answered 220, the handshake with CERT;
// false when the handshake failed.
bool open_starttls(Connection& c, const std::vector<std::string>& caps, Cert cert = Cert::kTrusted);
// MAIL, RCPT (one or more), DATA, the message, QUIT, answered as a good server would;
// returns the message payload as received (dot-stuffed, terminator included).
std::string serve_transaction(Connection& c);

// The ways a script ends a connection abruptly, for scenarios that try more than one.
enum class HangUp {
  kCloseNotify,  // Connection::close(): close_notify (inside TLS), then FIN
  kFin,          // Connection::close_without_notify(): FIN alone, a truncation inside TLS
  kReset,        // Connection::reset(): RST
};
void hang_up(Connection& c, HangUp how);
// "close_notify, then FIN", "FIN without close_notify", "RST": for INFO.
const char* hang_up_name(HangUp how);

}  // namespace smtpn::hostile
