#include "crypto/hex.hpp"

namespace smtpn::crypto {
namespace {
constexpr std::string_view kDigits = "0123456789abcdef";

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

std::string hex_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

Secret hex_encode_secret(std::string_view bytes) {
  Secret out = Secret::of_size(bytes.size() * 2);
  char* o = out.data();
  for (unsigned char b : bytes) {
    *o++ = kDigits[b >> 4];
    *o++ = kDigits[b & 15];
  }
  return out;
}

std::optional<std::string> hex_decode_fingerprint(std::string_view text) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    if (i + 1 >= text.size()) return std::nullopt;
    const int hi = nibble(text[i]);
    const int lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi << 4 | lo));
    i += 2;
    if (i < text.size() && text[i] == ':') {
      if (i + 1 == text.size()) return std::nullopt;
      ++i;
    }
  }
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace smtpn::crypto
