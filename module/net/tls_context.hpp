// Building the OpenSSL client context and reading what a finished handshake established.
#pragma once

#include "crypto/openssl_ptr.hpp"
#include "net/error.hpp"
#include "net/transport.hpp"

namespace smtpn::net {

// Initialises OpenSSL (libssl and libcrypto) unless that already happened. OpenSSL registers
// its atexit cleanup when it initialises: whoever must run before that cleanup at exit calls
// this first, then registers its own atexit handler. Throws NetError(kTls) on failure.
void initialise_openssl();

// TLS >= 1.2, the trust store (system or OPTIONS.trust_file), the client certificate.
// Throws NetError(kTls) with OpenSSL's reason when a file cannot be used.
crypto::SslCtxPtr make_client_context(const TlsOptions& options);

// Sets SNI and the host name (or IP) to verify on SSL according to OPTIONS.
void configure_peer_identity(SSL* ssl, const TlsOptions& options);

// Protocol, cipher, chain and verification outcome of a finished handshake. Throws NetError
// with the certificate facts when the pin does not match (unless OPTIONS.report_untrusted:
// then TlsInfo says so); a failed chain check is only reported (verified false).
TlsInfo inspect_session(SSL* ssl, const TlsOptions& options);

// The error for a certificate that failed verification with VERIFY_CODE: the reason in words,
// OpenSSL's, and the chain the server sent.
NetError certificate_refused(SSL* ssl, long verify_code);

// The channel-binding data of an established connection, seen from this side (client or
// server): tls-exporter on TLS 1.3, tls-unique on TLS 1.2 with extended master secret,
// nullopt otherwise.
std::optional<ChannelBindingData> channel_binding(SSL* ssl);

}  // namespace smtpn::net
