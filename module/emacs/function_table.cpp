#include "emacs/function_table.hpp"

#include <exception>
#include <new>

#include "emacs/errors.hpp"

namespace smtpn::emacs {
namespace {

emacs_value trampoline(emacs_env* raw, ptrdiff_t nargs, emacs_value* args, void* data) noexcept {
  Env env(raw);
  const auto* spec = static_cast<const FunctionSpec*>(data);
  try {
    return spec->impl(env, Args(args, static_cast<std::size_t>(nargs)));
  } catch (const PendingExit&) {
    // Emacs already has the signal; just return to it.
  } catch (const ModuleError& e) {
    signal_module_error(env, e);
  } catch (const std::bad_alloc&) {
    try {
      env.signal(env.intern("memory-full"), env.nil());
    } catch (...) {
    }
  } catch (const std::exception& e) {
    signal_internal_error(env, e.what());
  } catch (...) {
    signal_internal_error(env, "unknown C++ exception");
  }
  return nullptr;  // never read: Emacs raises the pending signal first
}

}  // namespace

void register_functions(Env& env, std::span<const FunctionSpec> specs) {
  for (const auto& spec : specs) {
    emacs_value fn = env.make_function(spec.min_arity, spec.max_arity, trampoline, spec.docstring,
                                       const_cast<FunctionSpec*>(&spec));
    env.call("defalias", {env.intern(spec.name), fn});
  }
}

emacs_value optional_arg(Env& env, Args args, std::size_t index) {
  return index < args.size() ? args[index] : env.nil();
}

}  // namespace smtpn::emacs
