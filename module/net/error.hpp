// The network layer's one error type: what went wrong below the SMTP protocol, with the facts
// a caller needs to explain it (the refused certificate; a peer that does not speak TLS).
#pragma once

#include <optional>
#include <stdexcept>
#include <string>

#include "net/certificate.hpp"

namespace smtpn::net {

class NetError : public std::runtime_error {
 public:
  enum class Kind {
    kResolve,      // the host name did not resolve
    kConnect,      // no address accepted the connection
    kTls,          // handshake, certificate or pin failure
    kTimeout,      // a deadline passed
    kClosed,       // the peer closed the connection
    kIo,           // a read or write failed
    kInterrupted,  // the caller asked to stop (C-g, job cancelled)
  };
  NetError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  // A TLS failure because the server's certificate was refused.
  NetError(const std::string& what, CertificateFailure certificate)
      : std::runtime_error(what), kind_(Kind::kTls), certificate_(std::move(certificate)) {}

  Kind kind() const { return kind_; }
  const std::optional<CertificateFailure>& certificate() const { return certificate_; }
  // The peer answered the ClientHello with something that is not TLS (plain SMTP's "220").
  bool peer_not_tls() const { return peer_not_tls_; }
  NetError& set_peer_not_tls() {
    peer_not_tls_ = true;
    return *this;
  }

 private:
  Kind kind_;
  std::optional<CertificateFailure> certificate_;
  bool peer_not_tls_ = false;
};

}  // namespace smtpn::net
