// Lowercase hex encoding (digests, fingerprints) and a tolerant decoder for user-typed
// fingerprints: any case, optional ':' separators between byte pairs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "crypto/secret.hpp"

namespace smtpn::crypto {

std::string hex_encode(std::string_view bytes);
// The same, written straight into a Secret.
Secret hex_encode_secret(std::string_view bytes);

// nullopt when TEXT is not pairs of hex digits (optionally separated by ':').
std::optional<std::string> hex_decode_fingerprint(std::string_view text);

}  // namespace smtpn::crypto
