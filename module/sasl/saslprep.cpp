#include "sasl/saslprep.hpp"

#include <cstdint>

namespace smtpn::sasl {

std::optional<SaslError> check_prepared(std::string_view text, std::string_view what, bool required) {
  auto fail = [&](const std::string& why) {
    return SaslError{SaslError::Kind::kBadCredentials, "the " + std::string(what) + " " + why};
  };
  if (required && text.empty()) return fail("is empty");
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0;
    std::size_t len = 0;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xE0) == 0xC0) {
      cp = c & 0x1Fu;
      len = 2;
    } else if ((c & 0xF0) == 0xE0) {
      cp = c & 0x0Fu;
      len = 3;
    } else if ((c & 0xF8) == 0xF0) {
      cp = c & 0x07u;
      len = 4;
    } else {
      return fail("is not valid UTF-8");
    }
    if (i + len > text.size()) return fail("is not valid UTF-8");
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return fail("is not valid UTF-8");
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8 either.
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
      return fail("is not valid UTF-8");
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F))
      return fail("contains a control character, which SASLprep prohibits");
    i += len;
  }
  return std::nullopt;
}

std::string saslname(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '=')
      out += "=3D";
    else if (c == ',')
      out += "=2C";
    else
      out += c;
  }
  return out;
}

std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > max) out += "...";
  return out;
}

}  // namespace smtpn::sasl
