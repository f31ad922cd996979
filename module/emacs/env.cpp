#include "emacs/env.hpp"

#include <vector>

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

emacs_value Env::text(std::string_view utf8) {
  emacs_value v = raw_->make_string(raw_, utf8.data(), static_cast<ptrdiff_t>(utf8.size()));
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

}  // namespace smtpn::emacs
