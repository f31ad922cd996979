// Transport: the byte stream the SMTP session runs over. The real one is a socket with
// optional OpenSSL TLS (socket_transport); tests and fuzzers script one in memory.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret.hpp"
#include "net/certificate.hpp"
#include "net/deadline.hpp"

namespace smtpn::net {

// Called between waits; returning true aborts the operation with NetError::kInterrupted.
using InterruptCheck = std::function<bool()>;

struct TlsOptions {
  std::string server_name;                // SNI and hostname verification
  bool verify = true;                     // verify chain and host name
  std::string trust_file;                 // PEM bundle used instead of the system store
  std::vector<std::string> extra_trust_files;  // PEM bundles trusted on top of the store
  std::string client_cert_file;           // PEM certificate for TLS client authentication
  std::string client_key_file;            // its key (defaults to the certificate file)
  std::optional<std::string> pin_sha256;  // raw 32-byte SHA-256 of the server certificate
  // Verify, but report an untrusted certificate in TlsInfo instead of refusing it: only for
  // describing a server (server-info's :untrusted-ok), never for a session that sends.
  bool report_untrusted = false;
};

struct TlsInfo {
  std::string protocol;                // "TLSv1.3"
  std::string cipher;                  // "TLS_AES_256_GCM_SHA384"
  bool verified = false;               // chain and host name verified (or pin matched)
  std::string verify_result;           // OpenSSL's words for the chain check
  VerifyError verify_error = VerifyError::kNone;  // the chain check's verdict (a pin aside)
  bool pinned = false;                 // a :fingerprint pin matched
  std::vector<CertificateInfo> chain;  // the peer's chain, leaf first
};

// RFC 5056 channel-binding data of an established TLS connection: "tls-exporter" (RFC 9266)
// on TLS 1.3, "tls-unique" (RFC 5929) on TLS 1.2 with the extended master secret.
struct ChannelBindingData {
  std::string type;
  std::string data;  // raw bytes
};

class Transport {
 public:
  virtual ~Transport() = default;

  // Reads at least one byte (up to BUF's size); throws NetError on EOF, error or deadline.
  virtual std::size_t read_some(char* buf, std::size_t size, Deadline deadline) = 0;
  virtual void write_all(std::string_view bytes, Deadline deadline) = 0;
  // True when bytes are waiting to be read right now (used to catch STARTTLS injection).
  virtual bool has_pending_input() = 0;
  // Waits until a byte can be read; false when DEADLINE passes first. Throws NetError on
  // interrupt. Transports that cannot tell say true and let read_some decide.
  virtual bool wait_readable(Deadline) { return true; }
  virtual TlsInfo start_tls(const TlsOptions& options, Deadline deadline) = 0;
  virtual bool is_tls() const = 0;
  // The binding data of the TLS connection, or nullopt without TLS (or when it cannot be had
  // safely: TLS 1.2 without the extended master secret).
  virtual std::optional<ChannelBindingData> channel_binding() const { return std::nullopt; }
  virtual bool peer_is_loopback() const = 0;
  virtual std::string peer_address() const = 0;
  virtual void close() noexcept = 0;
};

}  // namespace smtpn::net
