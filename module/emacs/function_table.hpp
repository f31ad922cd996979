// The registration table: every Lisp-callable function is one FunctionSpec, and all of them
// are entered through one noexcept trampoline that turns C++ exceptions into Lisp signals.
#pragma once

#include <cstddef>
#include <span>

#include "emacs/env.hpp"

namespace smtpn::emacs {

using Args = std::span<emacs_value>;
// What every Lisp-callable function is; the *_bindings.hpp headers declare theirs with it.
using LispFunction = emacs_value(Env& env, Args args);
using FunctionImpl = LispFunction*;

struct FunctionSpec {
  const char* name;
  std::ptrdiff_t min_arity;
  std::ptrdiff_t max_arity;  // or emacs_variadic_function
  const char* docstring;     // ends in "(fn ARGS)"
  FunctionImpl impl;
};

// Every function the module defines (functions.cpp).
std::span<const FunctionSpec> module_functions();

// defalias's each spec's name to a module function that runs it through the trampoline.
void register_functions(Env& env, std::span<const FunctionSpec> specs);

// The optional argument at INDEX, or nil when the caller left it out.
emacs_value optional_arg(Env& env, Args args, std::size_t index);

}  // namespace smtpn::emacs
