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
  kCancelled,    // smtpmail-native-cancelled (a background send was cancelled)
  kInterrupted,  // smtpmail-native-interrupted (C-g stopped a send)
};

// A Lisp value described in C++, so errors and results are built without an env: nil, an
// integer, a string (any bytes; see Env::text), a symbol (keywords too) or a list.
struct Symbol {
  std::string name;
};
struct Datum;
using DatumList = std::vector<Datum>;
struct Datum {
  std::variant<std::monostate, std::intmax_t, std::string, Symbol, DatumList> value;

  Datum() = default;
  Datum(std::intmax_t n) : value(n) {}
  Datum(int n) : value(std::intmax_t{n}) {}
  Datum(std::string s) : value(std::move(s)) {}
  Datum(const char* s) : value(std::string(s)) {}
  Datum(Symbol s) : value(std::move(s)) {}
  Datum(DatumList l) : value(std::move(l)) {}
};
emacs_value to_lisp(Env& env, const Datum& datum);

// Signal data is (MESSAGE . PLIST): SMTP failures carry :phase :delivery :code :enhanced
// :reply :rejected :auth :host :port, decode failures :offset, argument errors :phase.
class ModuleError : public std::runtime_error {
 public:
  ModuleError(ErrorKind kind, const std::string& message, DatumList plist = {})
      : std::runtime_error(message), kind_(kind), plist_(std::move(plist)) {}
  ErrorKind kind() const { return kind_; }
  const DatumList& plist() const { return plist_; }

 private:
  ErrorKind kind_;
  DatumList plist_;
};

// A refused argument (before anything was sent): smtpmail-native-error, :phase arguments.
ModuleError argument_error(const std::string& message);

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
