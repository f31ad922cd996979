// A listening TCP socket on 127.0.0.1 with a port the kernel chose: the one way the tests'
// in-process servers (TLS, silent, hostile) open their side. Closed on destruction.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <string>

#include "support/non_copyable.hpp"

namespace smtpn::test {

class LoopbackListener : NonCopyable {
 public:
  // BACKLOG connections complete their TCP handshake without an accept().
  explicit LoopbackListener(int backlog = 4) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(fd_, backlog) != 0 || ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    port_ = std::to_string(ntohs(addr.sin_port));
  }
  ~LoopbackListener() { ::close(fd_); }

  int fd() const { return fd_; }
  const std::string& port() const { return port_; }

 private:
  int fd_;
  std::string port_;
};

}  // namespace smtpn::test
