#include "hostile_certs.hpp"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace smtpn::hostile {
namespace {

using BioPtr = crypto::OpenSslPtr<BIO, BIO_free_all>;
using ExtensionPtr = crypto::OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free>;

constexpr long kDay = 24 * 60 * 60;

void require(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

EvpPkeyPtr new_key() {
  EvpPkeyPtr key{EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")};
  require(key != nullptr, "cannot make a key");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext{X509V3_EXT_conf_nid(nullptr, &ctx, nid, value)};
  require(ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1, "cannot add an extension");
}

struct Spec {
  std::string common_name;
  std::string alt_names;  // empty: none (the CA)
  long not_before;        // seconds from now
  long not_after;
  bool is_ca = false;
};

// A certificate for SPEC with a new key, signed by ISSUER (or by itself when ISSUER is null).
KeyAndCert make_cert(const Spec& spec, const KeyAndCert* issuer, long serial) {
  KeyAndCert out{new_key(), crypto::X509Ptr{X509_new()}};
  X509* cert = out.cert.get();
  require(cert != nullptr, "cannot make a certificate");
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert), spec.not_after);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  X509* signer_cert = issuer ? issuer->cert.get() : cert;
  EVP_PKEY* signer_key = issuer ? issuer->key.get() : out.key.get();
  X509_set_issuer_name(cert, X509_get_subject_name(signer_cert));
  X509_set_pubkey(cert, out.key.get());
  if (spec.is_ca) {
    add_extension(cert, signer_cert, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert, signer_cert, NID_key_usage, "critical,keyCertSign,cRLSign");
    add_extension(cert, signer_cert, NID_subject_key_identifier, "hash");
  } else {
    add_extension(cert, signer_cert, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert, signer_cert, NID_ext_key_usage, "serverAuth");
    add_extension(cert, signer_cert, NID_subject_alt_name, spec.alt_names.c_str());
  }
  require(X509_sign(cert, signer_key, EVP_sha256()) > 0, "cannot sign a certificate");
  return out;
}

std::string write_pem_file(X509* cert) {
  std::string name = "/tmp/smtpn-hostile-ca-XXXXXX.pem";
  const int fd = ::mkstemps(name.data(), 4);
  require(fd >= 0, "cannot create the CA file");
  std::FILE* file = ::fdopen(fd, "w");
  require(file != nullptr, "cannot open the CA file");
  const bool written = PEM_write_X509(file, cert) == 1;
  std::fclose(file);
  require(written, "cannot write the CA file");
  return name;
}

}  // namespace

const char* cert_name(Cert cert) {
  switch (cert) {
    case Cert::kTrusted: return "trusted";
    case Cert::kSelfSigned: return "self-signed";
    case Cert::kWrongHost: return "wrong host";
    case Cert::kExpired: return "expired";
    case Cert::kNotYetValid: return "not yet valid";
  }
  return "?";
}

TestPki::TestPki()
    : ca_(make_cert({"smtpn hostile test CA", "", -kDay, 30 * kDay, true}, nullptr, 1)),
      trusted_(make_cert({"localhost", "DNS:localhost,IP:127.0.0.1", -kDay, 30 * kDay}, &ca_, 2)),
      self_signed_(make_cert({"localhost", "DNS:localhost,IP:127.0.0.1", -kDay, 30 * kDay}, nullptr, 3)),
      wrong_host_(make_cert({"wrong.example", "DNS:wrong.example", -kDay, 30 * kDay}, &ca_, 4)),
      expired_(make_cert({"localhost", "DNS:localhost,IP:127.0.0.1", -3 * kDay, -kDay}, &ca_, 5)),
      not_yet_valid_(make_cert({"localhost", "DNS:localhost,IP:127.0.0.1", kDay, 30 * kDay}, &ca_, 6)),
      ca_file_(write_pem_file(ca_.cert.get())) {}

TestPki::~TestPki() { ::unlink(ca_file_.c_str()); }

const TestPki& TestPki::instance() {
  static const TestPki pki;
  return pki;
}

const KeyAndCert& TestPki::leaf(Cert cert) const {
  switch (cert) {
    case Cert::kTrusted: return trusted_;
    case Cert::kSelfSigned: return self_signed_;
    case Cert::kWrongHost: return wrong_host_;
    case Cert::kExpired: return expired_;
    case Cert::kNotYetValid: return not_yet_valid_;
  }
  return trusted_;
}

}  // namespace smtpn::hostile
