#include "sasl/policy.hpp"

#include <algorithm>

#include "sasl/mechanism.hpp"

namespace smtpn::sasl {
namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Over TLS the password-revealing PLAIN is as safe as anything and costs one round trip;
// in the clear the challenge-response CRAM-MD5 comes first.
std::vector<std::string> default_order(bool encrypted) {
  if (encrypted) return {"PLAIN", "CRAM-MD5", "LOGIN"};
  return {"CRAM-MD5", "PLAIN", "LOGIN"};
}

}  // namespace

PolicyChoice choose_mechanisms(const PolicyInput& input) {
  PolicyChoice choice;
  const auto order = input.preferred.empty() ? default_order(input.encrypted) : input.preferred;
  for (const auto& name : order) {
    if (!contains(input.offered, name) || !contains(supported_mechanisms(), name)) continue;
    if (contains(choice.candidates, name) || contains(choice.refused_clear, name)) continue;
    if (!input.encrypted && !input.clear_secrets_allowed && reveals_secret(name))
      choice.refused_clear.push_back(name);
    else
      choice.candidates.push_back(name);
  }
  return choice;
}

}  // namespace smtpn::sasl
