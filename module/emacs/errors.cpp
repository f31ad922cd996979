#include "emacs/errors.hpp"

#include <array>

namespace smtpn::emacs {
namespace {

struct ErrorDefinition {
  ErrorKind kind;
  const char* symbol;
  const char* message;  // what `error-message-string' puts before the data
};

constexpr std::array kErrors = {
    ErrorDefinition{ErrorKind::kGeneric, "smtpmail-native-error", "smtpmail-native error"},
    ErrorDefinition{ErrorKind::kConnection, "smtpmail-native-connection-error",
                    "Cannot connect to the SMTP server"},
    ErrorDefinition{ErrorKind::kTls, "smtpmail-native-tls-error", "TLS with the SMTP server failed"},
    ErrorDefinition{ErrorKind::kAuth, "smtpmail-native-auth-error", "SMTP authentication failed"},
    ErrorDefinition{ErrorKind::kProtocol, "smtpmail-native-protocol-error",
                    "The SMTP server broke the protocol"},
    ErrorDefinition{ErrorKind::kTimeout, "smtpmail-native-timeout", "The SMTP server did not answer in time"},
    ErrorDefinition{ErrorKind::kTemporary, "smtpmail-native-temporary-error",
                    "The SMTP server refused for now (temporary failure, retry later)"},
    ErrorDefinition{ErrorKind::kPermanent, "smtpmail-native-permanent-error",
                    "The SMTP server refused (permanent failure)"},
    ErrorDefinition{ErrorKind::kDecode, "smtpmail-native-decode-error", "Cannot decode the data"},
    ErrorDefinition{ErrorKind::kCancelled, "smtpmail-native-cancelled", "The background send was cancelled"},
    ErrorDefinition{ErrorKind::kInterrupted, "smtpmail-native-interrupted", "The SMTP session was interrupted"},
};

}  // namespace

emacs_value to_lisp(Env& env, const Datum& datum) {
  if (const auto* n = std::get_if<std::intmax_t>(&datum.value)) return env.integer(*n);
  if (const auto* s = std::get_if<std::string>(&datum.value)) return env.text(*s);
  if (const auto* sym = std::get_if<Symbol>(&datum.value)) return env.intern(sym->name.c_str());
  if (const auto* list = std::get_if<DatumList>(&datum.value)) {
    std::vector<emacs_value> items;
    items.reserve(list->size());
    for (const auto& d : *list) items.push_back(to_lisp(env, d));
    return env.list(items);
  }
  return env.nil();
}

ModuleError argument_error(const std::string& message) {
  return ModuleError(ErrorKind::kGeneric, message, {Symbol{":phase"}, Symbol{"arguments"}});
}

const char* error_symbol(ErrorKind kind) {
  for (const auto& e : kErrors)
    if (e.kind == kind) return e.symbol;
  return kErrors[0].symbol;
}

void define_error_hierarchy(Env& env) {
  for (const auto& e : kErrors) {
    const char* parent = e.kind == ErrorKind::kGeneric ? "error" : kErrors[0].symbol;
    env.call("define-error", {env.intern(e.symbol), env.text(e.message), env.intern(parent)});
  }
}

namespace {
emacs_value error_data(Env& env, const ModuleError& error) {
  std::vector<emacs_value> data{env.text(error.what())};
  for (const auto& d : error.plist()) data.push_back(to_lisp(env, d));
  return env.list(data);
}
}  // namespace

emacs_value error_value(Env& env, const ModuleError& error) {
  return env.call("cons", {env.intern(error_symbol(error.kind())), error_data(env, error)});
}

void signal_module_error(Env& env, const ModuleError& error) noexcept {
  try {
    env.signal(env.intern(error_symbol(error.kind())), error_data(env, error));
  } catch (...) {
    // Building the data failed, so a signal (memory-full, say) is already pending.
  }
}

void signal_internal_error(Env& env, const char* message) noexcept {
  try {
    std::vector<emacs_value> data{env.text(std::string("internal error: ") + message)};
    env.signal(env.intern(kErrors[0].symbol), env.list(data));
  } catch (...) {
  }
}

}  // namespace smtpn::emacs
