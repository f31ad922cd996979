// The network layer's one error type: what went wrong below the SMTP protocol.
#pragma once

#include <stdexcept>
#include <string>

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
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace smtpn::net
