#include "net/certificate.hpp"

#include <array>

#include <openssl/x509v3.h>

#include "common/enum_table.hpp"
#include "crypto/hex.hpp"
#include "crypto/openssl_ptr.hpp"
#include "net/error.hpp"

namespace smtpn::net {
namespace {

using BioPtr = crypto::OpenSslPtr<BIO, BIO_free_all>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  return size > 0 ? std::string(data, static_cast<std::size_t>(size)) : std::string();
}

std::string name_text(const X509_NAME* name) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio) return {};
  X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253);
  return bio_text(bio.get());
}

std::string time_text(const ASN1_TIME* t) {
  BioPtr bio{BIO_new(BIO_s_mem())};
  if (!bio) return {};
  ASN1_TIME_print(bio.get(), t);
  return bio_text(bio.get());
}

// One row per reason, in VerifyError's order: its Lisp symbol, the words the user reads
// first, and the OpenSSL verify results that mean it (kNoCode fills the unused places; a
// result no row lists is kOther).
constexpr long kNoCode = -1;
struct Reason {
  VerifyError value;
  const char* symbol;
  const char* words;
  std::array<long, 3> codes;
};
constexpr Reason kReasons[] = {
    {VerifyError::kNone, "", "the certificate is trusted", {X509_V_OK, kNoCode, kNoCode}},
    {VerifyError::kSelfSigned, "self-signed",
     "the certificate is self-signed: no authority you trust vouches for it",
     {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, kNoCode}},
    {VerifyError::kUnknownIssuer, "unknown-issuer",
     "the certificate was issued by an authority this system does not trust (or the server "
     "did not send its intermediate certificates)",
     {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
      X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE}},
    {VerifyError::kExpired, "expired", "the certificate has expired", {X509_V_ERR_CERT_HAS_EXPIRED, kNoCode, kNoCode}},
    {VerifyError::kNotYetValid, "not-yet-valid", "the certificate is not valid yet (is the clock right?)",
     {X509_V_ERR_CERT_NOT_YET_VALID, kNoCode, kNoCode}},
    {VerifyError::kHostnameMismatch, "hostname-mismatch", "the certificate is for a different host name",
     {X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH, kNoCode}},
    {VerifyError::kRevoked, "revoked", "the certificate has been revoked", {X509_V_ERR_CERT_REVOKED, kNoCode, kNoCode}},
    // Ours, not OpenSSL's: the pinned fingerprint differs.
    {VerifyError::kPinMismatch, "pin-mismatch", "the certificate is not the one pinned for this server",
     {kNoCode, kNoCode, kNoCode}},
    {VerifyError::kOther, "other", "the certificate could not be verified", {kNoCode, kNoCode, kNoCode}},
};
static_assert(rows_follow_enum(kReasons, VerifyError::kOther), "one row per VerifyError, in its order");

// A value no enumerator has reads as kOther.
const Reason& reason_of(VerifyError reason) {
  const Reason* row = row_of(kReasons, reason);
  return row ? *row : kReasons[static_cast<std::size_t>(VerifyError::kOther)];
}

}  // namespace

VerifyError classify_verify_result(long code) {
  for (const Reason& reason : kReasons)
    for (const long listed : reason.codes)
      if (listed != kNoCode && listed == code) return reason.value;
  return VerifyError::kOther;
}

const char* verify_error_name(VerifyError reason) { return reason_of(reason).symbol; }

const char* verify_error_words(VerifyError reason) { return reason_of(reason).words; }

std::string colon_hex(std::string_view bytes) {
  const std::string hex = crypto::hex_encode(bytes);
  std::string out;
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    if (i) out.push_back(':');
    out.append(hex, i, 2);
  }
  return out;
}

std::string certificate_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
    throw NetError(NetError::Kind::kTls, "cannot hash the server certificate");
  return colon_hex(std::string_view(reinterpret_cast<char*>(md), len));
}

CertificateInfo certificate_info(X509* cert) {
  return CertificateInfo{name_text(X509_get_subject_name(cert)), name_text(X509_get_issuer_name(cert)),
                         time_text(X509_get0_notBefore(cert)), time_text(X509_get0_notAfter(cert)),
                         certificate_sha256(cert)};
}

std::vector<CertificateInfo> peer_chain(SSL* ssl) {
  std::vector<CertificateInfo> chain;
  // The client keeps the chain the server sent even when verifying it failed the handshake.
  if (STACK_OF(X509)* certs = SSL_get_peer_cert_chain(ssl))
    for (int i = 0; i < sk_X509_num(certs); ++i) chain.push_back(certificate_info(sk_X509_value(certs, i)));
  return chain;
}

}  // namespace smtpn::net
