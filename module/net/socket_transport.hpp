// SocketTransport: a non-blocking TCP connection (every address getaddrinfo gives, under a
// deadline, TCP_NODELAY) with optional OpenSSL TLS on top. Every wait polls in short slices
// so an InterruptCheck (C-g, job cancel) is honoured within ~50 ms.
#pragma once

#include <memory>
#include <string>

#include "crypto/openssl_ptr.hpp"
#include "net/transport.hpp"

namespace smtpn::net {

class SocketTransport final : public Transport {
 public:
  static std::unique_ptr<SocketTransport> connect(const std::string& host, const std::string& port,
                                                  Deadline deadline, InterruptCheck interrupt);
  ~SocketTransport() override;

  std::size_t read_some(char* buf, std::size_t size, Deadline deadline) override;
  void write_all(std::string_view bytes, Deadline deadline) override;
  bool has_pending_input() override;
  bool wait_readable(Deadline deadline) override;
  TlsInfo start_tls(const TlsOptions& options, Deadline deadline) override;
  bool is_tls() const override { return ssl_ != nullptr; }
  std::optional<ChannelBindingData> channel_binding() const override;
  bool peer_is_loopback() const override { return loopback_; }
  std::string peer_address() const override { return peer_; }
  void close() noexcept override;

 private:
  SocketTransport(int fd, bool loopback, std::string peer, InterruptCheck interrupt);
  void wait_for(short events, Deadline deadline, const char* what);
  // Drives an SSL call that may want to read or write until it succeeds; returns its result.
  template <class Op>
  int drive_ssl(Op op, Deadline deadline, const char* what);

  int fd_ = -1;
  bool loopback_ = false;
  bool interrupted_ = false;  // an interrupt was seen: close() resets the connection
  std::string peer_;
  InterruptCheck interrupt_;
  crypto::SslCtxPtr ctx_;
  crypto::SslPtr ssl_;
};

}  // namespace smtpn::net
