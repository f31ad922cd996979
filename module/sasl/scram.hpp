// SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS variants (RFC 5802, RFC 7677): the client side
// as a state machine. It checks everything the server controls: the nonce must extend ours,
// the iteration count must lie within [kScramMinIterations, the configured ceiling], every
// message is bounded, and the server's signature must be verified before we trust a 235.
#pragma once

#include <cstddef>
#include <memory>

#include "crypto/hmac.hpp"
#include "sasl/mechanism.hpp"

namespace smtpn::sasl {

// Longest SCRAM message (decoded) we accept from a server; real ones are around 100 bytes.
inline constexpr std::size_t kMaxScramMessage = 4096;

// PLUS: bind to OPTIONS.channel_binding (which must then be present).
std::unique_ptr<Mechanism> make_scram(crypto::Digest digest, bool plus, const Credentials& credentials,
                                      const MechanismOptions& options);

}  // namespace smtpn::sasl
