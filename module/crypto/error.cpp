#include "crypto/error.hpp"

#include <openssl/err.h>

namespace smtpn::crypto {

CryptoError CryptoError::from_openssl(Kind kind, const std::string& context) {
  std::string what = context;
  unsigned long code = 0;
  char buf[256];
  while ((code = ERR_get_error()) != 0) {
    ERR_error_string_n(code, buf, sizeof buf);
    what += what == context ? ": " : "; ";
    what += buf;
  }
  return CryptoError(kind, what);
}

}  // namespace smtpn::crypto
