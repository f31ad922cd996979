// The Lisp error hierarchy (define-error'd at load) and ModuleError, the one C++ exception
// the bindings throw to make the trampoline signal one of those errors with structured data.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "emacs/env.hpp"

namespace smtpn::emacs {

enum class ErrorKind {
  kGeneric,     // smtpmail-native-error
  kConnection,  // smtpmail-native-connection-error
  kTls,         // smtpmail-native-tls-error
  kAuth,        // smtpmail-native-auth-error
  kProtocol,    // smtpmail-native-protocol-error
  kTimeout,     // smtpmail-native-timeout
  kTemporary,   // smtpmail-native-temporary-error (4xx)
  kPermanent,   // smtpmail-native-permanent-error (5xx)
  kDecode,      // smtpmail-native-decode-error
  kCancelled,   // smtpmail-native-cancelled (a background send was cancelled)
};

// nil, an integer or a string: what the signal data may carry after the message.
using Datum = std::variant<std::monostate, std::intmax_t, std::string>;

// Signal data is (MESSAGE . DETAILS): SMTP failures carry (CODE ENHANCED-STATUS REPLY-TEXT),
// decode failures (OFFSET).
class ModuleError : public std::runtime_error {
 public:
  ModuleError(ErrorKind kind, const std::string& message, std::vector<Datum> details = {})
      : std::runtime_error(message), kind_(kind), details_(std::move(details)) {}
  ErrorKind kind() const { return kind_; }
  const std::vector<Datum>& details() const { return details_; }

 private:
  ErrorKind kind_;
  std::vector<Datum> details_;
};

const char* error_symbol(ErrorKind kind);

// Runs define-error for every symbol of the hierarchy; called once from emacs_module_init.
void define_error_hierarchy(Env& env);

// (ERROR-SYMBOL . DATA) as a value, for callbacks of background sends.
emacs_value error_value(Env& env, const ModuleError& error);

// Makes ERROR pending in Emacs. Never throws.
void signal_module_error(Env& env, const ModuleError& error) noexcept;
// Makes a smtpmail-native-error with MESSAGE pending (for unexpected C++ exceptions).
void signal_internal_error(Env& env, const char* message) noexcept;

}  // namespace smtpn::emacs
