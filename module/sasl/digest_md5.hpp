// DIGEST-MD5 (RFC 2831; obsolete per RFC 6331, still offered by legacy servers): the client
// side, authentication only (qop=auth, no integrity or confidentiality layer). The server's
// rspauth must be verified before we trust its 235.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sasl/mechanism.hpp"

namespace smtpn::sasl {

// Longest challenge (decoded) accepted: RFC 2831 §2.1.1 says the server's is at most 2048.
inline constexpr std::size_t kMaxDigestChallenge = 2048;

// SERVICE/OPTIONS.host is the digest-uri ("smtp/mx.example.org").
std::unique_ptr<Mechanism> make_digest_md5(const Credentials& credentials, const MechanismOptions& options,
                                           std::string service = "smtp");

}  // namespace smtpn::sasl
