// libFuzzer target for crypto::hex_decode_fingerprint (the :fingerprint pin): any text is
// accepted exactly when it is pairs of hex digits (either case), optionally separated by
// single colons, with no colon at either end — checked against a reference grammar here —
// and then decodes to the bytes whose lowercase hex is the text without its colons.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/hex.hpp"
#include "property.hpp"

namespace {

using smtpn::fuzz::require;

bool hex_digit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// The grammar: PAIR (":"? PAIR)*, where PAIR is two hex digits.
bool reference_valid(std::string_view text) {
  std::size_t i = 0;
  bool first = true;
  while (i < text.size()) {
    if (!first && text[i] == ':') ++i;
    if (i + 2 > text.size() || !hex_digit(text[i]) || !hex_digit(text[i + 1])) return false;
    i += 2;
    first = false;
  }
  return !first;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto decoded = smtpn::crypto::hex_decode_fingerprint(text);
  require(decoded.has_value() == reference_valid(text), "accepted or refused against the grammar");
  if (!decoded) return 0;
  std::string digits;
  for (char c : text)
    if (c != ':') digits.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  require(smtpn::crypto::hex_encode(*decoded) == digits, "the bytes are not what the digits say");
  return 0;
}
