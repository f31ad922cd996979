// Which mechanisms to try, in which order: the user's list (or our default order) intersected
// with what the server advertised, minus what must not run on this channel. No I/O.
#pragma once

#include <string>
#include <vector>

namespace smtpn::sasl {

struct PolicyInput {
  std::vector<std::string> offered;    // upper case, from the (post-TLS) EHLO
  std::vector<std::string> preferred;  // user's order, upper case; empty = default order
  bool encrypted = false;              // TLS is up
  bool clear_secrets_allowed = false;  // plaintext policy allows secrets without TLS
};

struct PolicyChoice {
  std::vector<std::string> candidates;     // to try in order
  std::vector<std::string> refused_clear;  // offered and wanted, but unsafe without TLS
};

PolicyChoice choose_mechanisms(const PolicyInput& input);

}  // namespace smtpn::sasl
