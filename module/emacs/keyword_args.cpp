#include "emacs/keyword_args.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "emacs/errors.hpp"
#include "emacs/message_file_bindings.hpp"

namespace smtpn::emacs {

KeywordArgs::KeywordArgs(Env& env, Args args, std::span<const char* const> allowed) : env_(env) {
  if (args.size() % 2 != 0)
    throw argument_error("keyword arguments must come in :keyword value pairs");
  for (std::size_t i = 0; i < args.size(); i += 2) {
    if (!env.satisfies("keywordp", args[i])) env.wrong_type("keywordp", args[i]);
    std::string name = env.symbol_name(args[i]);
    const bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return name == a; });
    if (!known) throw argument_error("unknown keyword argument " + name);
    pairs_.emplace_back(std::move(name), args[i + 1]);
  }
}

std::optional<emacs_value> KeywordArgs::get(const char* keyword) const {
  for (const auto& [name, value] : pairs_)
    if (name == keyword) return value;
  return std::nullopt;
}

bool KeywordArgs::flag(const char* keyword, bool fallback) const {
  const auto v = get(keyword);
  return v ? !env_.is_nil(*v) : fallback;
}

std::string KeywordArgs::string(const char* keyword, const std::string& fallback) const {
  const auto v = get(keyword);
  if (!v || env_.is_nil(*v)) return fallback;
  if (!env_.satisfies("stringp", *v)) env_.wrong_type("stringp", *v);
  return env_.bytes(*v);
}

ByteBuffer KeywordArgs::required_message(const char* keyword) const {
  const auto v = get(keyword);
  if (v)
    if (auto file = message_file_bytes(env_, *v)) return std::move(*file);
  if (!v || !env_.satisfies("stringp", *v)) env_.wrong_type("stringp", v ? *v : env_.nil());
  return env_.message_bytes(*v);
}

std::vector<std::string> KeywordArgs::string_list(const char* keyword) const {
  std::vector<std::string> out;
  const auto v = get(keyword);
  if (!v) return out;
  for (emacs_value item : env_.list_items(*v)) {
    if (!env_.satisfies("stringp", item)) env_.wrong_type("stringp", item);
    out.push_back(env_.bytes(item));
  }
  return out;
}

std::optional<std::string> KeywordArgs::symbol_or_string(const char* keyword) const {
  const auto v = get(keyword);
  if (!v || env_.is_nil(*v)) return std::nullopt;
  if (env_.satisfies("stringp", *v)) return env_.bytes(*v);
  if (env_.satisfies("symbolp", *v)) return env_.symbol_name(*v);
  env_.wrong_type("symbolp", *v);
}

namespace {

std::string number_text(double d) {
  std::ostringstream out;
  out << d;
  return out.str();
}

}  // namespace

double KeywordArgs::number(const char* keyword, double fallback, double lo, double hi) const {
  const auto v = get(keyword);
  if (!v || env_.is_nil(*v)) return fallback;
  if (!env_.satisfies("numberp", *v)) env_.wrong_type("numberp", *v);
  // Through `float', so a bignum is range-checked like any number instead of overflowing
  // extract_integer.
  const double d = env_.to_float(env_.call("float", {*v}));
  if (!std::isfinite(d) || d < lo || d > hi)
    throw argument_error(std::string(keyword) + " must be a number from " + number_text(lo) +
                                               " to " + number_text(hi) + ", not " +
                                               env_.bytes(env_.call("format", {env_.text("%S"), *v})));
  return d;
}

std::uint64_t KeywordArgs::count(const char* keyword, std::uint64_t fallback, std::uint64_t lo,
                                 std::uint64_t hi) const {
  const auto v = get(keyword);
  if (!v || env_.is_nil(*v)) return fallback;
  if (!env_.satisfies("numberp", *v)) env_.wrong_type("integerp", *v);
  const double d = env_.satisfies("integerp", *v) ? env_.to_float(env_.call("float", {*v})) : -1.0;
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)))  // also false for NaN
    throw argument_error(std::string(keyword) + " must be an integer from " +
                                               std::to_string(lo) + " to " + std::to_string(hi) + ", not " +
                                               env_.bytes(env_.call("format", {env_.text("%S"), *v})));
  return static_cast<std::uint64_t>(d);
}

}  // namespace smtpn::emacs
