#include "sasl/policy.hpp"

#include <algorithm>

#include "sasl/mechanism.hpp"

namespace smtpn::sasl {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::vector<std::string> default_order(const PolicyInput& input) {
  std::vector<std::string> order;
  if (input.client_certificate) order.push_back("EXTERNAL");
  if (input.token_source) order.insert(order.end(), {"OAUTHBEARER", "XOAUTH2"});
  order.insert(order.end(), {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1"});
  // Over TLS the password-revealing PLAIN is as safe as anything and costs one round trip;
  // in the clear (only with the user's consent) the challenge-response mechanisms come first:
  // cracking a captured response takes work, reading a PLAIN password none.
  if (input.encrypted)
    order.insert(order.end(), {"PLAIN", "CRAM-MD5", "LOGIN", "DIGEST-MD5"});
  else
    order.insert(order.end(), {"CRAM-MD5", "DIGEST-MD5", "PLAIN", "LOGIN"});
  return order;
}

}  // namespace

PolicyChoice choose_mechanisms(const PolicyInput& input) {
  PolicyChoice choice;
  const auto order = input.preferred.empty() ? default_order(input) : input.preferred;
  for (const auto& name : order) {
    if (!contains(input.offered, name) || !contains(supported_mechanisms(), name)) continue;
    if (contains(choice.candidates, name) || contains(choice.refused_clear, name)) continue;
    if (needs_channel_binding(name) && !input.channel_binding) continue;
    if (name == "EXTERNAL" && !(input.client_certificate && input.encrypted)) continue;
    if (!input.encrypted && !input.clear_secrets_allowed && exposes_secret(name))
      choice.refused_clear.push_back(name);
    else
      choice.candidates.push_back(name);
  }
  // DIGEST-MD5 is obsolete (RFC 6331): whatever the list says, SCRAM and PLAIN over TLS go first.
  const bool better = std::any_of(
      choice.candidates.begin(), choice.candidates.end(),
      [&](const std::string& n) { return n.starts_with("SCRAM-") || (n == "PLAIN" && input.encrypted); });
  if (better)
    std::stable_partition(choice.candidates.begin(), choice.candidates.end(),
                          [](const std::string& n) { return n != "DIGEST-MD5"; });
  return choice;
}

}  // namespace smtpn::sasl
