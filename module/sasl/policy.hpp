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
  bool clear_secrets_allowed = false;  // the user consented to AUTH without TLS to this server
  bool channel_binding = false;        // TLS can give binding data: -PLUS may run
  bool token_source = false;           // an OAuth token function is configured
  bool client_certificate = false;     // a TLS client certificate was presented: EXTERNAL
};

struct PolicyChoice {
  std::vector<std::string> candidates;     // to try in order
  std::vector<std::string> refused_clear;  // offered and wanted, but refused without TLS
};

// The one owner of the mechanism order (the Lisp layer passes the user's list, or nothing).
// Default order: EXTERNAL (with a client certificate), OAUTHBEARER and XOAUTH2 (with a token
// source), SCRAM-SHA-256-PLUS, SCRAM-SHA-1-PLUS, SCRAM-SHA-256, SCRAM-SHA-1, then PLAIN,
// CRAM-MD5, LOGIN, DIGEST-MD5 over TLS (CRAM-MD5 and DIGEST-MD5 ahead of PLAIN without it).
// Without TLS every mechanism but EXTERNAL is refused (listed in refused_clear) unless
// clear_secrets_allowed: see exposes_secret.
// A user list is an ordered allow-list: it restricts and orders, but never enables what the
// server did not offer, what we do not implement, a -PLUS without binding data, EXTERNAL
// without a certificate, or a mechanism refused without TLS. DIGEST-MD5 (obsolete, RFC 6331)
// always goes behind SCRAM and PLAIN-over-TLS. XOAUTH2/OAUTHBEARER without a token source run
// only when listed, with the password as the token (smtpmail's auth-source convention).
PolicyChoice choose_mechanisms(const PolicyInput& input);

}  // namespace smtpn::sasl
