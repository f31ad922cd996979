#include "emacs/env.hpp"

#include <vector>

#include "common/utf8.hpp"

namespace smtpn::emacs {

void Env::check() {
  if (raw_->non_local_exit_check(raw_) != emacs_funcall_exit_return) throw PendingExit{};
}

emacs_value Env::intern(const char* name) {
  emacs_value v = raw_->intern(raw_, name);
  check();
  return v;
}

bool Env::is_nil(emacs_value v) {
  const bool not_nil = raw_->is_not_nil(raw_, v);
  check();
  return !not_nil;
}

bool Env::eq(emacs_value a, emacs_value b) {
  const bool same = raw_->eq(raw_, a, b);
  check();
  return same;
}

emacs_value Env::call(emacs_value function, std::span<emacs_value> args) {
  emacs_value v = raw_->funcall(raw_, function, static_cast<ptrdiff_t>(args.size()), args.data());
  check();
  return v;
}

emacs_value Env::call(emacs_value function, std::initializer_list<emacs_value> args) {
  std::vector<emacs_value> argv(args);
  return call(function, argv);
}

emacs_value Env::call(const char* function, std::initializer_list<emacs_value> args) {
  return call(intern(function), args);
}

std::string Env::bytes(emacs_value string) {
  ptrdiff_t size = 0;
  raw_->copy_string_contents(raw_, string, nullptr, &size);
  check();
  std::string out(static_cast<std::size_t>(size), '\0');  // size counts the trailing NUL
  raw_->copy_string_contents(raw_, string, out.data(), &size);
  check();
  out.resize(static_cast<std::size_t>(size) - 1);
  return out;
}

ByteBuffer Env::message_bytes(emacs_value string) {
  // Every copy_string_contents scans the whole string; asking it for the size first would
  // scan a 25 MB message twice. string-bytes is the size for unibyte and UTF-8 text alike.
  ptrdiff_t size = static_cast<ptrdiff_t>(to_integer(call("string-bytes", {string}))) + 1;
  ByteBuffer out(static_cast<std::size_t>(size));  // size counts the trailing NUL
  if (!raw_->copy_string_contents(raw_, string, out.data(), &size)) {
    // Its UTF-8 form is another size after all: Emacs said which, and signalled; try again.
    if (raw_->non_local_exit_check(raw_) != emacs_funcall_exit_signal) check();
    raw_->non_local_exit_clear(raw_);
    out = ByteBuffer(static_cast<std::size_t>(size));
    raw_->copy_string_contents(raw_, string, out.data(), &size);
    check();
  }
  out.shrink(static_cast<std::size_t>(size) - 1);
  return out;
}

emacs_value Env::unibyte(std::string_view bytes) {
  emacs_value v = raw_->make_unibyte_string(raw_, bytes.data(), static_cast<ptrdiff_t>(bytes.size()));
  check();
  return v;
}

emacs_value Env::text(std::string_view bytes) {
  // make_string signals on anything but valid UTF-8 (Emacs 28+), and a server's reply may
  // hold Latin-1 or garbage: those keep their bytes as a unibyte string instead.
  if (!is_valid_utf8(bytes)) return unibyte(bytes);
  emacs_value v = raw_->make_string(raw_, bytes.data(), static_cast<ptrdiff_t>(bytes.size()));
  check();
  return v;
}

emacs_value Env::integer(std::intmax_t n) {
  emacs_value v = raw_->make_integer(raw_, n);
  check();
  return v;
}

emacs_value Env::list(std::span<emacs_value> items) { return call(intern("list"), items); }

emacs_value Env::floating(double d) {
  emacs_value v = raw_->make_float(raw_, d);
  check();
  return v;
}

bool Env::satisfies(const char* predicate, emacs_value v) { return !is_nil(call(predicate, {v})); }

std::intmax_t Env::to_integer(emacs_value v) {
  const std::intmax_t n = raw_->extract_integer(raw_, v);
  check();
  return n;
}

double Env::to_float(emacs_value v) {
  const double d = raw_->extract_float(raw_, v);
  check();
  return d;
}

std::vector<emacs_value> Env::list_items(emacs_value list) {
  if (!satisfies("proper-list-p", list)) wrong_type("listp", list);
  emacs_value vector = call("vconcat", {list});
  const ptrdiff_t size = raw_->vec_size(raw_, vector);
  check();
  std::vector<emacs_value> items;
  items.reserve(static_cast<std::size_t>(size));
  for (ptrdiff_t i = 0; i < size; ++i) {
    items.push_back(raw_->vec_get(raw_, vector, i));
    check();
  }
  return items;
}

std::string Env::symbol_name(emacs_value symbol) { return bytes(call("symbol-name", {symbol})); }

void Env::wrong_type(const char* predicate, emacs_value v) {
  std::vector<emacs_value> data{intern(predicate), v};
  signal(intern("wrong-type-argument"), list(data));
  throw PendingExit{};
}

void Env::signal(emacs_value symbol, emacs_value data) { raw_->non_local_exit_signal(raw_, symbol, data); }

void Env::throw_to(emacs_value tag, emacs_value value) { raw_->non_local_exit_throw(raw_, tag, value); }

Env::Exit Env::take_exit() {
  Exit exit{emacs_funcall_exit_return, nullptr, nullptr};
  exit.kind = raw_->non_local_exit_get(raw_, &exit.symbol, &exit.data);
  raw_->non_local_exit_clear(raw_);
  return exit;
}

void Env::raise(const Exit& exit) {
  if (exit.kind == emacs_funcall_exit_throw)
    throw_to(exit.symbol, exit.data);
  else if (exit.kind == emacs_funcall_exit_signal)
    signal(exit.symbol, exit.data);
}

bool Env::should_quit() { return raw_->should_quit(raw_); }

void Env::consume_quit() {
  if (!should_quit()) return;
  raw_->funcall(raw_, intern("ignore"), 0, nullptr);  // funcall notices the quit flag first
  if (raw_->non_local_exit_check(raw_) != emacs_funcall_exit_return) take_exit();
}

emacs_value Env::make_global_ref(emacs_value v) {
  emacs_value ref = raw_->make_global_ref(raw_, v);
  check();
  return ref;
}

void Env::free_global_ref(emacs_value v) {
  raw_->free_global_ref(raw_, v);
  check();
}

emacs_value Env::make_user_ptr(emacs_finalizer finalizer, void* p) {
  emacs_value v = raw_->make_user_ptr(raw_, finalizer, p);
  check();
  return v;
}

void* Env::user_ptr(emacs_value v) {
  void* p = raw_->get_user_ptr(raw_, v);
  check();
  return p;
}

emacs_finalizer Env::user_finalizer(emacs_value v) {
  emacs_finalizer f = raw_->get_user_finalizer(raw_, v);
  check();
  return f;
}

int Env::open_channel(emacs_value process) {
  const int fd = raw_->open_channel(raw_, process);
  check();
  return fd;
}

emacs_value Env::make_function(ptrdiff_t min_arity, ptrdiff_t max_arity,
                               emacs_value (*function)(emacs_env*, ptrdiff_t, emacs_value*, void*) noexcept,
                               const char* docstring, void* data) {
  emacs_value fn = raw_->make_function(raw_, min_arity, max_arity, function, docstring, data);
  check();
  return fn;
}

}  // namespace smtpn::emacs
