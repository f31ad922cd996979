// SASL mechanisms as pure state machines: (credentials, server challenge) -> response.
// No I/O: the SMTP session carries the base64 lines; here only the bytes are computed.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"
#include "crypto/secret.hpp"
#include "sasl/error.hpp"

namespace smtpn::sasl {

struct Credentials {
  std::string user;
  crypto::Secret password;
};

class Mechanism {
 public:
  virtual ~Mechanism() = default;
  virtual std::string_view name() const = 0;  // as in the AUTH command, upper case
  // The base64 initial response to put on the AUTH line, if the mechanism has one.
  virtual std::optional<crypto::Secret> initial_response() { return std::nullopt; }
  // The base64 line answering the base64 CHALLENGE of a 334 reply.
  virtual Result<crypto::Secret, SaslError> respond(std::string_view challenge_base64) = 0;
};

// A mechanism by its upper-case name, or nullptr when we do not implement it.
std::unique_ptr<Mechanism> make_mechanism(std::string_view name, const Credentials& credentials);

// Whether NAME puts the password (or an equivalent secret) on the wire: only TLS may carry it.
bool reveals_secret(std::string_view name);

// Mechanisms we implement, strongest first.
const std::vector<std::string>& supported_mechanisms();

}  // namespace smtpn::sasl
