// KeywordArgs: a &rest list of :keyword value pairs, checked against the keywords a
// function accepts, with typed accessors that signal wrong-type-argument on a bad value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "emacs/env.hpp"
#include "emacs/function_table.hpp"

namespace smtpn::emacs {

class KeywordArgs {
 public:
  // Signals on an odd count or a keyword outside ALLOWED (names without the colon's absence:
  // ":host").
  KeywordArgs(Env& env, Args args, std::span<const char* const> allowed);

  // nullopt when the keyword was not given (an explicit nil is a value).
  std::optional<emacs_value> get(const char* keyword) const;
  bool given(const char* keyword) const { return get(keyword).has_value(); }
  bool flag(const char* keyword, bool fallback) const;                              // nil / non-nil
  std::string string(const char* keyword, const std::string& fallback = {}) const;  // string or nil
  ByteBuffer required_message(const char* keyword) const;  // a string's or message file's bytes
  std::vector<std::string> string_list(const char* keyword) const;         // list of strings, or nil
  std::optional<std::string> symbol_or_string(const char* keyword) const;  // name of either, or nil
  // A finite number in [LO, HI], FALLBACK when absent or nil. A float that is NaN, infinite
  // or out of range (and a bignum) is refused with smtpmail-native-error before any
  // conversion: casting such a double to an integer type is undefined behaviour.
  double number(const char* keyword, double fallback, double lo, double hi) const;
  // An integer in [LO, HI] (HI at most 2^53), FALLBACK when absent or nil; refused likewise.
  std::uint64_t count(const char* keyword, std::uint64_t fallback, std::uint64_t lo, std::uint64_t hi) const;

 private:
  Env& env_;
  std::vector<std::pair<std::string, emacs_value>> pairs_;
};

}  // namespace smtpn::emacs
