// XOAUTH2 (Google's and Microsoft's form) and OAUTHBEARER (RFC 7628): a bearer token on the
// AUTH line, and the error continuation (334 + base64 JSON) answered so the server can send
// its final failure, whose JSON "status" we keep for the user.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "sasl/mechanism.hpp"

namespace smtpn::sasl {

// Longest error document (decoded) we accept; real ones are a few hundred bytes.
inline constexpr std::size_t kMaxOAuthError = 4096;

std::unique_ptr<Mechanism> make_xoauth2(const Credentials& credentials);
std::unique_ptr<Mechanism> make_oauthbearer(const Credentials& credentials, const MechanismOptions& options);

// The "status" string of an RFC 7628 §3.2.2 error document, printable and bounded; empty
// when there is none.
std::string oauth_error_status(std::string_view json);

}  // namespace smtpn::sasl
