// Which mechanisms to try, in which order: the user's list (or our default order) intersected
// with what the server advertised, minus what must not or cannot run on this channel. No I/O.
#pragma once

#include <string>
#include <vector>

namespace smtpn::sasl {

struct PolicyInput {
  std::vector<std::string> offered;    // upper case, from the (post-TLS) EHLO
  std::vector<std::string> preferred;  // user's order, upper case; empty = default order
  bool encrypted = false;              // TLS is up
  bool clear_secrets_allowed = false;  // plaintext policy allows secrets without TLS
  bool channel_binding = false;        // TLS can give binding data: -PLUS may run
  bool token_source = false;           // an OAuth token function is configured
  bool client_certificate = false;     // a TLS client certificate was presented: EXTERNAL
};

struct PolicyChoice {
  std::vector<std::string> candidates;     // to try in order
  std::vector<std::string> refused_clear;  // offered and wanted, but unsafe without TLS
};

// Default order: EXTERNAL (with a client certificate), OAUTHBEARER and XOAUTH2 (with a token
// source), SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN,
// CRAM-MD5, LOGIN, DIGEST-MD5 over TLS (CRAM-MD5 and DIGEST-MD5 ahead of PLAIN without it).
// A user list restricts and orders, but never enables what the server did not offer, a -PLUS
// without binding data, or EXTERNAL without a certificate; DIGEST-MD5 always goes behind SCRAM
// and PLAIN-over-TLS.
PolicyChoice choose_mechanisms(const PolicyInput& input);

}  // namespace smtpn::sasl
