#include "net/socket_transport.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "crypto/error.hpp"
#include "net/error.hpp"
#include "net/nosignal_bio.hpp"
#include "net/tls_context.hpp"

namespace smtpn::net {
namespace {

constexpr int kPollSliceMs = 50;  // how long a wait may go without checking for interrupts

struct AddrInfoDeleter {
  void operator()(addrinfo* p) const noexcept { freeaddrinfo(p); }
};

std::string address_text(const sockaddr* sa) {
  char host[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, host, sizeof host);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, host, sizeof host);
  return host;
}

bool is_loopback(const sockaddr* sa) {
  if (sa->sa_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr) >> 24) == 127;
  if (sa->sa_family == AF_INET6) {
    const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a)) return true;
    return IN6_IS_ADDR_V4MAPPED(&a) && a.s6_addr[12] == 127;
  }
  return false;
}

void check_interrupt(const InterruptCheck& interrupt) {
  if (interrupt && interrupt()) throw NetError(NetError::Kind::kInterrupted, "interrupted");
}

// Polls FD for EVENTS until ready; throws on deadline or interrupt.
void poll_until(int fd, short events, Deadline deadline, const InterruptCheck& interrupt, const char* what) {
  for (;;) {
    check_interrupt(interrupt);
    if (deadline.expired()) throw NetError(NetError::Kind::kTimeout, std::string("timed out ") + what);
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, deadline.poll_timeout_ms(kPollSliceMs));
    if (n > 0) return;
    if (n < 0 && errno != EINTR)
      throw NetError(NetError::Kind::kIo, std::string("poll failed: ") + std::strerror(errno));
  }
}

// One non-blocking connect attempt; returns the fd or -1 with REASON set.
int try_connect(const addrinfo* ai, Deadline deadline, const InterruptCheck& interrupt, std::string& reason) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    reason = std::strerror(errno);
    return -1;
  }
  if (::connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
    reason = std::strerror(errno);
    ::close(fd);
    return -1;
  }
  try {
    poll_until(fd, POLLOUT, deadline, interrupt, "connecting");
  } catch (const NetError& e) {
    ::close(fd);
    if (e.kind() == NetError::Kind::kInterrupted) throw;
    reason = e.what();
    return -1;
  }
  int error = 0;
  socklen_t len = sizeof error;
  ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
  if (error != 0) {
    reason = std::strerror(error);
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

}  // namespace

std::unique_ptr<SocketTransport> SocketTransport::connect(const std::string& host, const std::string& port,
                                                          Deadline deadline, InterruptCheck interrupt) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* raw = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &raw); rc != 0)
    throw NetError(NetError::Kind::kResolve,
                   "cannot resolve " + host + " port " + port + ": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, AddrInfoDeleter> list(raw);

  std::string failures;
  for (const addrinfo* ai = list.get(); ai; ai = ai->ai_next) {
    std::string reason;
    const int fd = try_connect(ai, deadline, interrupt, reason);
    if (fd >= 0)
      return std::unique_ptr<SocketTransport>(
          new SocketTransport(fd, is_loopback(ai->ai_addr), address_text(ai->ai_addr), interrupt));
    if (!failures.empty()) failures += "; ";
    failures += address_text(ai->ai_addr) + ": " + reason;
  }
  const auto kind = deadline.expired() ? NetError::Kind::kTimeout : NetError::Kind::kConnect;
  throw NetError(kind, "cannot connect to " + host + " port " + port + " (" + failures + ")");
}

SocketTransport::SocketTransport(int fd, bool loopback, std::string peer, InterruptCheck interrupt)
    : fd_(fd), loopback_(loopback), peer_(std::move(peer)), interrupt_(std::move(interrupt)) {}

SocketTransport::~SocketTransport() { close(); }

void SocketTransport::close() noexcept {
  ssl_.reset();  // no close_notify: the session already said QUIT or is abandoning the peer
  ctx_.reset();
  if (fd_ >= 0) {
    if (interrupted_) {
      // Cancelled or C-g: reset the connection rather than close it, so the bytes still
      // queued in our socket (the rest of a message, its final dot) are dropped, not sent.
      const linger abort_now{1, 0};
      ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort_now, sizeof abort_now);
    }
    ::close(fd_);
  }
  fd_ = -1;
}

void SocketTransport::wait_for(short events, Deadline deadline, const char* what) {
  try {
    poll_until(fd_, events, deadline, interrupt_, what);
  } catch (const NetError& e) {
    if (e.kind() == NetError::Kind::kInterrupted) interrupted_ = true;
    throw;
  }
}

template <class Op>
int SocketTransport::drive_ssl(Op op, Deadline deadline, const char* what) {
  for (;;) {
    ERR_clear_error();
    const int rc = op();
    if (rc > 0) return rc;
    const int err = SSL_get_error(ssl_.get(), rc);
    if (err == SSL_ERROR_WANT_READ) {
      wait_for(POLLIN, deadline, what);
    } else if (err == SSL_ERROR_WANT_WRITE) {
      wait_for(POLLOUT, deadline, what);
    } else if (err == SSL_ERROR_ZERO_RETURN) {
      throw NetError(NetError::Kind::kClosed, "the server closed the TLS connection");
    } else if (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
      throw NetError(NetError::Kind::kClosed, std::string("the server closed the connection ") + what);
    } else if (err == SSL_ERROR_SSL &&
               ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      // A TCP close without close_notify: a dropped connection, whatever OpenSSL calls it.
      ERR_clear_error();
      throw NetError(NetError::Kind::kClosed,
                     std::string("the server closed the connection (without TLS close_notify) ") + what);
    } else {
      // A record that is not TLS at all: a plain-text server answering the ClientHello.
      const bool not_tls = ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
                           ERR_GET_REASON(ERR_peek_error()) == SSL_R_WRONG_VERSION_NUMBER &&
                           !SSL_is_init_finished(ssl_.get());
      NetError error(NetError::Kind::kTls, crypto::CryptoError::from_openssl(crypto::CryptoError::Kind::kFailed,
                                                                             std::string("TLS error ") + what)
                                               .what());
      if (not_tls) error.set_peer_not_tls();
      throw error;
    }
  }
}

std::size_t SocketTransport::read_some(char* buf, std::size_t size, Deadline deadline) {
  if (fd_ < 0) throw NetError(NetError::Kind::kClosed, "the connection is closed");
  if (ssl_) {
    std::size_t got = 0;
    drive_ssl([&] { return SSL_read_ex(ssl_.get(), buf, size, &got); }, deadline, "reading");
    return got;
  }
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, size, 0);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) throw NetError(NetError::Kind::kClosed, "the server closed the connection");
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(POLLIN, deadline, "waiting for the server");
    } else if (errno != EINTR) {
      throw NetError(errno == ECONNRESET ? NetError::Kind::kClosed : NetError::Kind::kIo,
                     std::string("reading from the server failed: ") + std::strerror(errno));
    }
  }
}

void SocketTransport::write_all(std::string_view bytes, Deadline deadline) {
  if (fd_ < 0) throw NetError(NetError::Kind::kClosed, "the connection is closed");
  while (!bytes.empty()) {
    std::size_t done = 0;
    if (ssl_) {
      drive_ssl([&] { return SSL_write_ex(ssl_.get(), bytes.data(), bytes.size(), &done); }, deadline,
                "writing");
    } else {
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          wait_for(POLLOUT, deadline, "sending to the server");
          continue;
        }
        if (errno == EINTR) continue;
        throw NetError(errno == EPIPE || errno == ECONNRESET ? NetError::Kind::kClosed : NetError::Kind::kIo,
                       std::string("sending to the server failed: ") + std::strerror(errno));
      }
      done = static_cast<std::size_t>(n);
    }
    bytes.remove_prefix(done);
  }
}

bool SocketTransport::has_pending_input() {
  if (fd_ < 0) return false;
  if (ssl_ && SSL_pending(ssl_.get()) > 0) return true;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

bool SocketTransport::wait_readable(Deadline deadline) {
  if (fd_ < 0) throw NetError(NetError::Kind::kClosed, "the connection is closed");
  if (ssl_ && SSL_pending(ssl_.get()) > 0) return true;
  try {
    wait_for(POLLIN, deadline, "waiting for the server");
  } catch (const NetError& e) {
    if (e.kind() == NetError::Kind::kTimeout) return false;
    throw;
  }
  return true;
}

TlsInfo SocketTransport::start_tls(const TlsOptions& options, Deadline deadline) {
  ctx_ = make_client_context(options);
  ssl_.reset(SSL_new(ctx_.get()));
  BIO* bio = ssl_ ? new_nosignal_socket_bio(fd_) : nullptr;
  if (!bio) throw NetError(NetError::Kind::kTls, "cannot set up TLS on the connection");
  SSL_set_bio(ssl_.get(), bio, bio);  // SSL owns the BIO (one reference serves both directions)
  configure_peer_identity(ssl_.get(), options);
  try {
    drive_ssl([&] { return SSL_connect(ssl_.get()); }, deadline, "during the TLS handshake");
  } catch (const NetError& e) {
    const long verify = SSL_get_verify_result(ssl_.get());
    if (e.kind() == NetError::Kind::kTls && verify != X509_V_OK) throw certificate_refused(ssl_.get(), verify);
    throw;
  }
  return inspect_session(ssl_.get(), options);
}

std::optional<ChannelBindingData> SocketTransport::channel_binding() const {
  if (!ssl_) return std::nullopt;
  return net::channel_binding(ssl_.get());
}

}  // namespace smtpn::net
