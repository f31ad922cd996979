// The sanitizer builds' deliberate leak (leak_probe.cpp): functions.cpp lists it only with
// SMTPN_LEAK_PROBE.
#pragma once

#include "emacs/function_table.hpp"

namespace smtpn::emacs {

LispFunction lisp_leak_probe;

}  // namespace smtpn::emacs
