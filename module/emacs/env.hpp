// Env: the module's one wrapper around emacs_env. Every env call goes through it, and every
// call is followed by a check that turns a pending non-local exit into PendingExit, so C++
// code never keeps running with a signal pending and never unwinds into Emacs.
#pragma once

#include <emacs-module.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_buffer.hpp"

namespace smtpn::emacs {

// An env call left a signal or throw pending; the trampoline returns and Emacs raises it.
struct PendingExit {};

class Env {
 public:
  explicit Env(emacs_env* raw) : raw_(raw) {}
  emacs_env* raw() const { return raw_; }  // for Emacs-version checks only; calls go through Env

  emacs_value intern(const char* name);
  emacs_value nil() { return intern("nil"); }
  emacs_value t() { return intern("t"); }
  bool is_nil(emacs_value v);
  bool eq(emacs_value a, emacs_value b);

  emacs_value call(emacs_value function, std::span<emacs_value> args);
  emacs_value call(emacs_value function, std::initializer_list<emacs_value> args);
  emacs_value call(const char* function, std::initializer_list<emacs_value> args);

  // A Lisp string's bytes: unibyte byte-exact, multibyte as UTF-8. A non-string, or a
  // multibyte string holding raw 8-bit bytes, raises wrong-type-argument (Emacs's own rule).
  std::string bytes(emacs_value string);
  // The same, for a message or any bulk payload (base64): copied once into a buffer that is
  // not zero-filled first.
  ByteBuffer message_bytes(emacs_value string);
  emacs_value unibyte(std::string_view bytes);
  // A string from any bytes (a server's included): valid UTF-8 becomes a multibyte string
  // (unibyte when ASCII), anything else a unibyte string, so it can never signal.
  emacs_value text(std::string_view bytes);
  emacs_value integer(std::intmax_t n);
  emacs_value list(std::span<emacs_value> items);
  emacs_value floating(double d);

  // Lisp predicates and accessors; the extractors signal wrong-type-argument themselves.
  bool satisfies(const char* predicate, emacs_value v);
  std::intmax_t to_integer(emacs_value v);
  double to_float(emacs_value v);
  std::vector<emacs_value> list_items(emacs_value list);  // signals unless a proper list
  std::string symbol_name(emacs_value symbol);
  [[noreturn]] void wrong_type(const char* predicate, emacs_value v);

  void signal(emacs_value symbol, emacs_value data);
  void throw_to(emacs_value tag, emacs_value value);

  // The pending non-local exit, taken out of Emacs: its kind (signal or throw) and its
  // symbol/tag and data/value, which stay valid until this module call returns.
  struct Exit {
    emacs_funcall_exit kind;
    emacs_value symbol;
    emacs_value data;
  };
  Exit take_exit();
  void raise(const Exit& exit);  // makes EXIT pending again, exactly as it was

  bool should_quit();
  // C-g was pressed: consume it (Emacs clears its quit flag as it signals `quit', which is
  // caught here), so a caller that already reported the interruption is not hit twice.
  void consume_quit();

  // The few raw operations the bindings need, each checked.
  emacs_value make_global_ref(emacs_value v);
  void free_global_ref(emacs_value v);
  emacs_value make_user_ptr(emacs_finalizer finalizer, void* p);
  void* user_ptr(emacs_value v);
  emacs_finalizer user_finalizer(emacs_value v);
  int open_channel(emacs_value process);
  emacs_value make_function(ptrdiff_t min_arity, ptrdiff_t max_arity,
                            emacs_value (*function)(emacs_env*, ptrdiff_t, emacs_value*, void*) noexcept,
                            const char* docstring, void* data);

 private:
  void check();
  // Calls FUNCTION, one of emacs_env's, with ARGS and then check(): how every wrapper above
  // reaches Emacs (message_bytes alone also handles one exit itself first).
  template <typename Fn, typename... Args>
  auto checked(Fn emacs_env::*function, Args... args);
  emacs_env* raw_;
};

}  // namespace smtpn::emacs
