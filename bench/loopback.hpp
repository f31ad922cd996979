// A one-connection loopback listener for the C++ benches that script a server by hand
// (bench_cancel, bench_heap_flood): listen on 127.0.0.1 on a free port, write, read a line;
// and the plain session and envelope both send to it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "smtp/options.hpp"
#include "support/loopback_session.hpp"

namespace smtpn::bench {

// A listening socket on 127.0.0.1; PORT gets its port. Exits the bench on failure.
inline int listen_loopback(int& port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  port = ntohs(addr.sin_port);
  return fd;
}

// All of BYTES, or as much as the peer takes before it goes away.
inline void send_text(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// Reads up to and including the next LF; false at EOF or error.
inline bool read_line(int fd) {
  char c = 0;
  while (true) {
    if (::recv(fd, &c, 1, 0) <= 0) return false;
    if (c == '\n') return true;
  }
}

// Reads until the peer closes the connection.
inline void drain_until_closed(int fd) {
  char buf[4096];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
}

// A plain session with the bench's server on 127.0.0.1:PORT, giving up after TIMEOUT_SECONDS.
inline smtp::SessionOptions plain_session(int port, double timeout_seconds) {
  return test::loopback_session(std::to_string(port), smtp::StreamType::kPlain, timeout_seconds);
}

// The envelope the benches send: one sender, one recipient.
inline smtp::MailOptions one_recipient_mail() {
  smtp::MailOptions mail;
  mail.from = "a@example.org";
  mail.recipients = {"b@example.org"};
  return mail;
}

}  // namespace smtpn::bench
