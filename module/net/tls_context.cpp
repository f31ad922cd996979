#include "net/tls_context.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "crypto/error.hpp"
#include "crypto/hex.hpp"
#include "net/error.hpp"

namespace smtpn::net {
namespace {

[[noreturn]] void fail(const std::string& context) {
  throw NetError(NetError::Kind::kTls,
                 crypto::CryptoError::from_openssl(crypto::CryptoError::Kind::kFailed, context).what());
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string raw_sha256(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) fail("cannot hash the server certificate");
  return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

void initialise_openssl() {
  if (OPENSSL_init_ssl(0, nullptr) != 1) fail("cannot initialise OpenSSL");
}

crypto::SslCtxPtr make_client_context(const TlsOptions& options) {
  crypto::SslCtxPtr ctx{SSL_CTX_new(TLS_client_method())};
  if (!ctx) fail("cannot create a TLS context");
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION) != 1) fail("cannot require TLS 1.2");
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);

  if (!options.trust_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.trust_file.c_str(), nullptr) != 1)
      fail("cannot load the trust file " + options.trust_file);
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    fail("cannot load the system trust store");
  }
  for (const auto& file : options.extra_trust_files)
    if (SSL_CTX_load_verify_locations(ctx.get(), file.c_str(), nullptr) != 1)
      fail("cannot load the trust file " + file);

  if (!options.client_cert_file.empty()) {
    const std::string& key =
        options.client_key_file.empty() ? options.client_cert_file : options.client_key_file;
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), options.client_cert_file.c_str()) != 1)
      fail("cannot load the client certificate " + options.client_cert_file);
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
      fail("cannot load the client key " + key);
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
      fail("the client key does not match the client certificate");
  }

  // A pin replaces chain verification (self-signed local bridges); it is checked after the
  // handshake, before any byte of SMTP goes through the tunnel.
  // Describing a server (report_untrusted) finishes the handshake and judges afterwards.
  const bool verify_chain = options.verify && !options.pin_sha256 && !options.report_untrusted;
  SSL_CTX_set_verify(ctx.get(), verify_chain ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  return ctx;
}

void configure_peer_identity(SSL* ssl, const TlsOptions& options) {
  const std::string& host = options.server_name;
  if (host.empty()) return;
  if (is_ip_literal(host)) {
    // SNI must not carry an address (RFC 6066 §3); verify against the IP SAN instead.
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1)
      fail("cannot set the IP to verify");
  } else {
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) fail("cannot set SNI");
    if (SSL_set1_host(ssl, host.c_str()) != 1) fail("cannot set the host name to verify");
  }
}

NetError certificate_refused(SSL* ssl, long verify_code) {
  CertificateFailure failure{classify_verify_result(verify_code), X509_verify_cert_error_string(verify_code),
                             peer_chain(ssl)};
  std::string what = std::string("the server certificate was refused: ") + verify_error_words(failure.reason) +
                     " (OpenSSL: " + failure.detail + ")";
  return NetError(what, std::move(failure));
}

TlsInfo inspect_session(SSL* ssl, const TlsOptions& options) {
  TlsInfo info;
  info.protocol = SSL_get_version(ssl);
  info.cipher = SSL_get_cipher_name(ssl);
  const long verify_code = SSL_get_verify_result(ssl);
  info.verify_result = X509_verify_cert_error_string(verify_code);
  info.verify_error = classify_verify_result(verify_code);
  info.chain = peer_chain(ssl);

  crypto::X509Ptr leaf{SSL_get1_peer_certificate(ssl)};
  if (!leaf) throw NetError(NetError::Kind::kTls, "the server presented no certificate");
  if (options.pin_sha256) {
    if (raw_sha256(leaf.get()) != *options.pin_sha256) {
      if (options.report_untrusted) {
        info.verify_error = VerifyError::kPinMismatch;
        return info;
      }
      throw NetError("the server certificate was refused: " + std::string(verify_error_words(VerifyError::kPinMismatch)) +
                         ": its SHA-256 fingerprint " + certificate_sha256(leaf.get()) +
                         " does not match the pinned " + colon_hex(*options.pin_sha256),
                     CertificateFailure{VerifyError::kPinMismatch, "fingerprint mismatch", info.chain});
    }
    info.pinned = true;
    info.verified = true;
    return info;
  }
  // The caller refuses an unverified session (or, describing a server, reports it).
  info.verified = options.verify && verify_code == X509_V_OK;
  return info;
}

}  // namespace smtpn::net

namespace smtpn::net {

std::optional<ChannelBindingData> channel_binding(SSL* ssl) {
  if (!ssl || !SSL_is_init_finished(ssl)) return std::nullopt;
  if (SSL_version(ssl) >= TLS1_3_VERSION) {
    // RFC 9266 §2: 32 bytes of the exporter with this label and an empty context.
    static constexpr char kLabel[] = "EXPORTER-Channel-Binding";
    std::string data(32, '\0');
    if (SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(data.data()), data.size(), kLabel,
                                   sizeof kLabel - 1, nullptr, 0, 1) != 1) {
      ERR_clear_error();
      return std::nullopt;
    }
    return ChannelBindingData{"tls-exporter", std::move(data)};
  }
  // tls-unique without the extended master secret is open to the triple-handshake attack
  // (RFC 7627): no binding rather than a weak one.
  if (SSL_version(ssl) != TLS1_2_VERSION || SSL_get_extms_support(ssl) != 1) return std::nullopt;
  // RFC 5929 §3.1: the first Finished of the latest handshake: the client's in a full
  // handshake, the server's in a resumption.
  const bool client_first = !SSL_session_reused(ssl);
  const bool mine = client_first != static_cast<bool>(SSL_is_server(ssl));
  std::string data(64, '\0');
  const std::size_t n = mine ? SSL_get_finished(ssl, data.data(), data.size())
                             : SSL_get_peer_finished(ssl, data.data(), data.size());
  if (n == 0 || n > data.size()) return std::nullopt;
  data.resize(n);
  return ChannelBindingData{"tls-unique", std::move(data)};
}

}  // namespace smtpn::net
