// The sanitizer builds' deliberate leak (leak_probe.cpp), registered only with SMTPN_LEAK_PROBE.
#pragma once

#include <span>

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

std::span<const FunctionSpec> leak_probe_functions();

}  // namespace smtpn::emacs
