// Server certificates as a user sees them: the facts of each certificate in a chain, and
// OpenSSL's verify codes sorted into the few reasons a user can act on, in plain words.
#pragma once

#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace smtpn::net {

struct CertificateInfo {
  std::string subject;
  std::string issuer;
  std::string not_before;
  std::string not_after;
  std::string sha256;  // lowercase hex, colon separated
};

// Why a certificate is not trusted. Names (verify_error_name) are the Lisp symbols of
// :verify-error, so they are part of the module's contract. certificate.cpp names them in a
// table checked against this order up to kOther, which stays last.
enum class VerifyError {
  kNone,              // verified
  kSelfSigned,        // self-signed, alone or at the top of the chain
  kUnknownIssuer,     // the issuer is not trusted here (or intermediates are missing)
  kExpired,           // past its not-after date
  kNotYetValid,       // before its not-before date
  kHostnameMismatch,  // names another host (or IP)
  kRevoked,           // revoked
  kPinMismatch,       // a :fingerprint pin was given and this certificate is not it
  kOther,             // anything else OpenSSL refuses
};

// X509_V_* verify result -> reason.
VerifyError classify_verify_result(long code);
// "self-signed", "unknown-issuer", ... ("" for kNone).
const char* verify_error_name(VerifyError reason);
// "the certificate is self-signed", ... : the sentence a user reads first.
const char* verify_error_words(VerifyError reason);

// A certificate that was refused: why, OpenSSL's own words, and the chain (leaf first).
struct CertificateFailure {
  VerifyError reason = VerifyError::kOther;
  std::string detail;  // OpenSSL's text for the verify code
  std::vector<CertificateInfo> chain;
};

CertificateInfo certificate_info(X509* cert);
// The chain the peer sent, leaf first; also after a handshake that failed verification.
std::vector<CertificateInfo> peer_chain(SSL* ssl);
// Lowercase colon-separated hex SHA-256 of a certificate.
std::string certificate_sha256(X509* cert);
// The same for raw digest bytes.
std::string colon_hex(std::string_view bytes);

}  // namespace smtpn::net
