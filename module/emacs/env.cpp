#include "emacs/env.hpp"

#include <type_traits>
#include <vector>

#include "common/utf8.hpp"

namespace smtpn::emacs {

void Env::check() {
  if (raw_->non_local_exit_check(raw_) != emacs_funcall_exit_return) throw PendingExit{};
}

template <typename Fn, typename... Args>
auto Env::checked(Fn emacs_env::*function, Args... args) {
  if constexpr (std::is_void_v<std::invoke_result_t<Fn, emacs_env*, Args...>>) {
    (raw_->*function)(raw_, args...);
    check();
  } else {
    auto result = (raw_->*function)(raw_, args...);
    check();
    return result;
  }
}

emacs_value Env::intern(const char* name) { return checked(&emacs_env::intern, name); }

bool Env::is_nil(emacs_value v) { return !checked(&emacs_env::is_not_nil, v); }

bool Env::eq(emacs_value a, emacs_value b) { return checked(&emacs_env::eq, a, b); }

emacs_value Env::call(emacs_value function, std::span<emacs_value> args) {
  return checked(&emacs_env::funcall, function, static_cast<ptrdiff_t>(args.size()), args.data());
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
  checked(&emacs_env::copy_string_contents, string, nullptr, &size);
  std::string out(static_cast<std::size_t>(size), '\0');  // size counts the trailing NUL
  checked(&emacs_env::copy_string_contents, string, out.data(), &size);
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
    checked(&emacs_env::copy_string_contents, string, out.data(), &size);
  }
  out.shrink(static_cast<std::size_t>(size) - 1);
  return out;
}

emacs_value Env::unibyte(std::string_view bytes) {
  return checked(&emacs_env::make_unibyte_string, bytes.data(), static_cast<ptrdiff_t>(bytes.size()));
}

emacs_value Env::text(std::string_view bytes) {
  // make_string signals on anything but valid UTF-8 (Emacs 28+), and a server's reply may
  // hold Latin-1 or garbage: those keep their bytes as a unibyte string instead.
  if (!is_valid_utf8(bytes)) return unibyte(bytes);
  return checked(&emacs_env::make_string, bytes.data(), static_cast<ptrdiff_t>(bytes.size()));
}

emacs_value Env::integer(std::intmax_t n) { return checked(&emacs_env::make_integer, n); }

emacs_value Env::list(std::span<emacs_value> items) { return call(intern("list"), items); }

emacs_value Env::floating(double d) { return checked(&emacs_env::make_float, d); }

bool Env::satisfies(const char* predicate, emacs_value v) { return !is_nil(call(predicate, {v})); }

std::intmax_t Env::to_integer(emacs_value v) { return checked(&emacs_env::extract_integer, v); }

double Env::to_float(emacs_value v) { return checked(&emacs_env::extract_float, v); }

std::vector<emacs_value> Env::list_items(emacs_value list) {
  if (!satisfies("proper-list-p", list)) wrong_type("listp", list);
  emacs_value vector = call("vconcat", {list});
  const ptrdiff_t size = checked(&emacs_env::vec_size, vector);
  std::vector<emacs_value> items;
  items.reserve(static_cast<std::size_t>(size));
  for (ptrdiff_t i = 0; i < size; ++i) items.push_back(checked(&emacs_env::vec_get, vector, i));
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

emacs_value Env::make_global_ref(emacs_value v) { return checked(&emacs_env::make_global_ref, v); }

void Env::free_global_ref(emacs_value v) { checked(&emacs_env::free_global_ref, v); }

emacs_value Env::make_user_ptr(emacs_finalizer finalizer, void* p) {
  return checked(&emacs_env::make_user_ptr, finalizer, p);
}

void* Env::user_ptr(emacs_value v) { return checked(&emacs_env::get_user_ptr, v); }

emacs_finalizer Env::user_finalizer(emacs_value v) { return checked(&emacs_env::get_user_finalizer, v); }

int Env::open_channel(emacs_value process) { return checked(&emacs_env::open_channel, process); }

emacs_value Env::make_function(ptrdiff_t min_arity, ptrdiff_t max_arity,
                               emacs_value (*function)(emacs_env*, ptrdiff_t, emacs_value*, void*) noexcept,
                               const char* docstring, void* data) {
  return checked(&emacs_env::make_function, min_arity, max_arity, function, docstring, data);
}

}  // namespace smtpn::emacs
