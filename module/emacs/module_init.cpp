// emacs_module_init: refuse an Emacs older than 28, then define the error hierarchy and the
// functions, and provide the feature `smtpmail-native-module'.
#include <emacs-module.h>

#include <exception>

#include "emacs/env.hpp"
#include "emacs/errors.hpp"
#include "emacs/function_table.hpp"

extern "C" {
__attribute__((visibility("default"))) int plugin_is_GPL_compatible;
__attribute__((visibility("default"))) int emacs_module_init(emacs_runtime* runtime) noexcept;
}

namespace {

// A build fact for tests/check-hardening: _FORTIFY_SOURCE leaves no trace in a binary that
// has no call glibc can check (our copies go through containers of unknown object size),
// so the level glibc actually put in effect (0 without optimisation) is recorded here.
#if defined(__USE_FORTIFY_LEVEL) && __USE_FORTIFY_LEVEL >= 2
[[gnu::used]] const char kFortifyFact[] = "smtpn-build-fact: glibc fortify level 2";
#endif

enum InitFailure { kOk = 0, kRuntimeTooOld = 1, kEnvTooOld = 2, kInitError = 3 };

// Uses only Emacs 25 env functions: this env may be older than the header's.
void signal_too_old(emacs_env* env) noexcept {
  const char message[] =
      "smtpmail-native needs Emacs 28 or newer (its module API has open_channel); "
      "this Emacs is older";
  emacs_value text = env->make_string(env, message, sizeof message - 1);
  emacs_value data = env->funcall(env, env->intern(env, "list"), 1, &text);
  env->non_local_exit_signal(env, env->intern(env, "error"), data);
}

}  // namespace

int emacs_module_init(emacs_runtime* runtime) noexcept {
  if (static_cast<std::size_t>(runtime->size) < sizeof(*runtime)) return kRuntimeTooOld;
  emacs_env* raw = runtime->get_environment(runtime);
  if (static_cast<std::size_t>(raw->size) < sizeof(struct emacs_env_28)) {
    signal_too_old(raw);
    return kEnvTooOld;
  }

  smtpn::emacs::Env env(raw);
  try {
    smtpn::emacs::define_error_hierarchy(env);
    smtpn::emacs::register_functions(env, smtpn::emacs::module_functions());
    env.call("provide", {env.intern("smtpmail-native-module")});
  } catch (const smtpn::emacs::PendingExit&) {
    return kInitError;
  } catch (const std::exception& e) {
    smtpn::emacs::signal_internal_error(env, e.what());
    return kInitError;
  } catch (...) {
    return kInitError;
  }
  return kOk;
}
