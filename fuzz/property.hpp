// The property check of every fuzz target: a violated property prints the target's name
// (SMTPN_FUZZ_TARGET, defined by fuzz/CMakeLists.txt) and the property, and aborts, which
// libFuzzer reports with the input that did it.
#pragma once

#include <cstdio>
#include <cstdlib>

#ifndef SMTPN_FUZZ_TARGET
#error "SMTPN_FUZZ_TARGET must name the fuzz target (fuzz/CMakeLists.txt defines it)"
#endif

namespace smtpn::fuzz {

inline void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, SMTPN_FUZZ_TARGET ": property violated: %s\n", what);
  std::abort();
}

}  // namespace smtpn::fuzz
