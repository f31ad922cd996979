// A test seam for the SASL mechanism the session builds: while a MechanismOverride lives,
// sasl::make_mechanism (wrapped at link time, see tests/CMakeLists.txt) asks it first.
// It lets a test drive the session with a mechanism no real one behaves like (one that never stops).
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "sasl/mechanism.hpp"
#include "support/non_copyable.hpp"

namespace smtpn::test {

using MechanismFactory = std::function<std::unique_ptr<sasl::Mechanism>(std::string_view name)>;

// Installs FACTORY for its lifetime; a factory that returns nullptr leaves the real one in charge.
class MechanismOverride : NonCopyable {
 public:
  explicit MechanismOverride(MechanismFactory factory);
  ~MechanismOverride();
};

}  // namespace smtpn::test
