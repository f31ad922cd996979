// The crypto layer's one error type: OpenSSL refused an operation we asked for.
#pragma once

#include <stdexcept>
#include <string>

namespace smtpn::crypto {

class CryptoError : public std::runtime_error {
 public:
  enum class Kind { kUnavailable, kFailed };
  CryptoError(Kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  Kind kind() const { return kind_; }

  // Builds the error from OpenSSL's error queue (and clears it), prefixed with CONTEXT.
  static CryptoError from_openssl(Kind kind, const std::string& context);

 private:
  Kind kind_;
};

}  // namespace smtpn::crypto
