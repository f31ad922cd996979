// The outcome contract in Lisp terms: the plist keys every SMTP error and result shares
// (:phase :delivery :code :enhanced :reply :rejected :auth :host :port), built here only.
#pragma once

#include "emacs/errors.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"

namespace smtpn::emacs {

// The Lisp signal for ERROR: (SYMBOL MESSAGE . PLIST). INTERRUPTED_AS names what an
// interruption is to this caller: C-g (kInterrupted) or a cancelled job (kCancelled).
ModuleError to_module_error(const smtp::SmtpError& error, ErrorKind interrupted_as);

// A successful send: (:delivery sent|partial :code :enhanced :reply :accepted :rejected
// :auth :host :port :tls :capabilities).
emacs_value send_result_plist(Env& env, const smtp::SendResult& result);

// :port's value: the number when the service is numeric, else its name.
Datum port_datum(const std::string& port);

}  // namespace smtpn::emacs
