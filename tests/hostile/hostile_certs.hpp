// The hostile server's certificates, made with OpenSSL in memory when the suite starts (no key
// or certificate is committed): a test CA the client trusts, a leaf it signs for localhost and
// 127.0.0.1, and four leaves the client must refuse (self-signed, wrong host, expired, not yet valid).
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>

#include "crypto/openssl_ptr.hpp"
#include "support/non_copyable.hpp"

namespace smtpn::hostile {

using EvpPkeyPtr = crypto::OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;

enum class Cert {
  kTrusted,     // signed by the test CA for DNS:localhost and IP:127.0.0.1
  kSelfSigned,  // names right, but nobody vouches for it
  kWrongHost,   // signed by the test CA for wrong.example only
  kExpired,     // signed by the test CA, names right, expired yesterday
  kNotYetValid,  // signed by the test CA, names right, valid from tomorrow
};
const char* cert_name(Cert cert);

struct KeyAndCert {
  EvpPkeyPtr key;
  crypto::X509Ptr cert;
};

class TestPki : test::NonCopyable {
 public:
  // Built once per process (thread-safe), on first use.
  static const TestPki& instance();
  ~TestPki();

  const KeyAndCert& leaf(Cert cert) const;
  // A temporary PEM file holding only the test CA (for TlsOptions::trust_file); removed at exit.
  const std::string& ca_file() const { return ca_file_; }

 private:
  TestPki();
  KeyAndCert ca_, trusted_, self_signed_, wrong_host_, expired_, not_yet_valid_;
  std::string ca_file_;
};

}  // namespace smtpn::hostile
