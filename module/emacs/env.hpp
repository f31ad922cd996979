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
  emacs_env* raw() const { return raw_; }

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
  // The same, for a message: copied once into a buffer that is not zero-filled first.
  ByteBuffer message_bytes(emacs_value string);
  emacs_value unibyte(std::string_view bytes);
  emacs_value text(std::string_view utf8);  // a (multibyte when needed) string from UTF-8
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

 private:
  void check();
  emacs_env* raw_;
};

}  // namespace smtpn::emacs
