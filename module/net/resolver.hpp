// Name resolution under the session's deadline that C-g and a job's cancel can abandon:
// an address literal with a numeric port is answered at once; a name's getaddrinfo cannot be
// interrupted, so it runs on a detached thread and the caller waits in short slices; an abandoned lookup finishes (or hangs) on its own and frees its
// result, and nothing waits for it — not the caller, not ~Runner at Emacs's exit.
#pragma once

#include <netdb.h>

#include <memory>
#include <string>

#include "net/deadline.hpp"
#include "net/transport.hpp"

namespace smtpn::net {

struct AddrInfoDeleter {
  void operator()(addrinfo* p) const noexcept { freeaddrinfo(p); }
};
using AddrInfoList = std::unique_ptr<addrinfo, AddrInfoDeleter>;

// The addresses HOST and PORT resolve to (TCP); NetError kResolve on failure, kTimeout when
// DEADLINE passes first, kInterrupted when INTERRUPT says so first.
AddrInfoList resolve(const std::string& host, const std::string& port, Deadline deadline,
                     const InterruptCheck& interrupt);

// Test seam: the function resolve() calls instead of getaddrinfo for a lookup (nullptr:
// getaddrinfo again); an address literal never needs one, so it never reaches this function.
// Its results are released with freeaddrinfo, so it must return getaddrinfo's.
using LookupFn = int (*)(const char* host, const char* port, const addrinfo* hints, addrinfo** out);
void set_lookup_for_tests(LookupFn fn);

}  // namespace smtpn::net
