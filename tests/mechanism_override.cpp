// The link-time wrap behind MechanismOverride: the linker sends the session's calls of
// sasl::make_mechanism here (-Wl,--wrap on its mangled name), so no production code carries a hook.
#include "mechanism_override.hpp"

#include <utility>

namespace smtpn::test {
namespace {

MechanismFactory& current() {
  static MechanismFactory factory;
  return factory;
}

}  // namespace

MechanismOverride::MechanismOverride(MechanismFactory factory) { current() = std::move(factory); }
MechanismOverride::~MechanismOverride() { current() = nullptr; }

}  // namespace smtpn::test

// The names the linker knows: --wrap=SYM turns the session's references to SYM into
// __wrap_SYM and gives the original as __real_SYM. SYM is make_mechanism's Itanium-ABI name.
#define SMTPN_MAKE_MECHANISM_SYMBOL                                                          \
  "_ZN5smtpn4sasl14make_mechanismESt17basic_string_viewIcSt11char_traitsIcEERKNS0_" \
  "11CredentialsERKNS0_16MechanismOptionsE"
using MakeMechanism = std::unique_ptr<smtpn::sasl::Mechanism>(std::string_view name,
                                                              const smtpn::sasl::Credentials& credentials,
                                                              const smtpn::sasl::MechanismOptions& options);
MakeMechanism smtpn_real_make_mechanism __asm__("__real_" SMTPN_MAKE_MECHANISM_SYMBOL);
MakeMechanism smtpn_wrap_make_mechanism __asm__("__wrap_" SMTPN_MAKE_MECHANISM_SYMBOL);

std::unique_ptr<smtpn::sasl::Mechanism> smtpn_wrap_make_mechanism(std::string_view name,
                                                                  const smtpn::sasl::Credentials& credentials,
                                                                  const smtpn::sasl::MechanismOptions& options) {
  if (auto& factory = smtpn::test::current())
    if (auto mechanism = factory(name)) return mechanism;
  return smtpn_real_make_mechanism(name, credentials, options);
}
