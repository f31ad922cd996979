// SASL mechanisms as pure state machines: (credentials, server challenge) -> response.
// No I/O: the SMTP session carries the base64 lines; here only the bytes are computed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "crypto/secret.hpp"
#include "sasl/error.hpp"

namespace smtpn::sasl {

// The floor RFC 7677 §4 sets and the default ceiling of a SCRAM server's iteration count.
// The ceiling bounds how long a hostile server can keep us hashing (see README: Mechanisms).
inline constexpr std::uint32_t kScramMinIterations = 4096;
inline constexpr std::uint32_t kDefaultScramMaxIterations = 600000;

struct Credentials {
  std::string user;
  crypto::Secret password;  // the password, or the OAuth bearer token for XOAUTH2/OAUTHBEARER
};

// Data that ties the authentication to the TLS connection (RFC 5056, RFC 5929, RFC 9266).
struct ChannelBinding {
  std::string type;  // "tls-exporter" or "tls-unique"
  std::string data;  // raw bytes
};

struct MechanismOptions {
  std::optional<ChannelBinding> channel_binding;  // present when TLS is up and can bind
  std::uint32_t scram_max_iterations = kDefaultScramMaxIterations;
  std::string host;  // server name: OAUTHBEARER's host=, DIGEST-MD5's digest-uri
  std::string port;
  bool server_offers_plus = false;  // the server advertised a -PLUS mechanism (SCRAM's gs2 flag)
  std::string client_nonce;         // fixed nonce (known-answer tests); empty: random per exchange
};

class Mechanism {
 public:
  virtual ~Mechanism() = default;
  virtual std::string_view name() const = 0;  // as in the AUTH command, upper case
  // The base64 initial response to put on the AUTH line, if the mechanism has one ("" means
  // an empty one, sent as "="). Fails when the credentials cannot be used.
  virtual Result<std::optional<crypto::Secret>, SaslError> initial_response() {
    return std::optional<crypto::Secret>{};
  }
  // The base64 line answering the base64 CHALLENGE of a 334 reply.
  virtual Result<crypto::Secret, SaslError> respond(std::string_view challenge_base64) = 0;
  // Called once the server said 235: an error when the exchange must not be trusted even so
  // (a SCRAM or DIGEST-MD5 server that never proved it knows the password).
  virtual std::optional<SaslError> finish() { return std::nullopt; }
  // What the server said about a failure inside the exchange (the status of an OAuth error
  // continuation), for the error the user sees; empty when nothing.
  virtual std::string failure_detail() const { return {}; }
};

// A mechanism by its upper-case name, or nullptr when we do not implement it.
// CREDENTIALS and OPTIONS must outlive the mechanism.
std::unique_ptr<Mechanism> make_mechanism(std::string_view name, const Credentials& credentials,
                                          const MechanismOptions& options = {});

// Whether an eavesdropper on NAME's exchange learns a secret: the password itself (PLAIN,
// LOGIN), a token (XOAUTH2, OAUTHBEARER), or a response it can crack offline to get the
// password (CRAM-MD5, DIGEST-MD5, SCRAM without channel binding; a man in the middle even
// picks SCRAM's salt and iteration count). All but EXTERNAL: only TLS, or the user's consent
// for that server, may carry them.
bool exposes_secret(std::string_view name);
// Whether NAME authenticates with an OAuth bearer token rather than a password.
bool uses_token(std::string_view name);
// Whether NAME is a channel-binding (-PLUS) mechanism.
bool needs_channel_binding(std::string_view name);

// Mechanisms we implement.
const std::vector<std::string>& supported_mechanisms();

}  // namespace smtpn::sasl
