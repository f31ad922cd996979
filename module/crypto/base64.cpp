// Table-driven base64: whole 3-byte groups in the hot loop, the tail handled once.
#include "crypto/base64.hpp"

#include <array>
#include <cstdint>

namespace smtpn::crypto {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint8_t kInvalid = 0xFF;
constexpr std::uint8_t kPad = 0xFE;

constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  table['='] = kPad;
  return table;
}
constexpr auto kDecode = make_decode_table();

std::uint8_t sextet(std::string_view text, std::size_t i) {
  return kDecode[static_cast<unsigned char>(text[i])];
}

}  // namespace

std::string Base64Error::message() const {
  const std::string at = " at offset " + std::to_string(offset);
  switch (kind) {
    case Kind::kInvalidCharacter: return "character outside the base64 alphabet" + at;
    case Kind::kBadLength: return "input length is not a multiple of 4 (truncated)" + at;
    case Kind::kBadPadding: return "misplaced padding '='" + at;
    case Kind::kTrailingData: return "data after the final padded group" + at;
    case Kind::kNonZeroPadBits: return "non-canonical encoding (unused bits set)" + at;
  }
  return "invalid base64" + at;
}

std::size_t base64_encoded_size(std::size_t byte_count) { return (byte_count + 2) / 3 * 4; }

namespace {

// Writes base64_encoded_size(BYTES.size()) characters at O.
void encode_to(char* o, std::string_view bytes) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2];
    *o++ = kAlphabet[(n >> 18) & 63];
    *o++ = kAlphabet[(n >> 12) & 63];
    *o++ = kAlphabet[(n >> 6) & 63];
    *o++ = kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint32_t{in[i]} << 16;
    if (rest == 2) n |= std::uint32_t{in[i + 1]} << 8;
    *o++ = kAlphabet[(n >> 18) & 63];
    *o++ = kAlphabet[(n >> 12) & 63];
    *o++ = rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    *o++ = '=';
  }
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string out(base64_encoded_size(bytes.size()), '\0');
  encode_to(out.data(), bytes);
  return out;
}

Secret base64_encode_secret(std::string_view bytes) {
  Secret out = Secret::of_size(base64_encoded_size(bytes.size()));
  encode_to(out.data(), bytes);
  return out;
}

Result<std::string, Base64Error> base64_decode(std::string_view text) {
  using Kind = Base64Error::Kind;
  auto fail = [](Kind kind, std::size_t offset) { return Unexpected{Base64Error{kind, offset}}; };

  // Characters are checked before length so that "a b" reports the space, not the length.
  const std::size_t n = text.size();
  std::size_t data_end = n;  // offset of the first '=' (or n)
  for (std::size_t i = 0; i < n; ++i) {
    const std::uint8_t v = sextet(text, i);
    if (v == kInvalid) return fail(Kind::kInvalidCharacter, i);
    if (v == kPad) {
      data_end = i;
      break;
    }
  }
  if (data_end < n) {
    // Padding may only complete the group it starts in, with at most two '='.
    const std::size_t group_end = (data_end / 4 + 1) * 4;
    const std::size_t pos_in_group = data_end % 4;
    if (pos_in_group < 2) return fail(Kind::kBadPadding, data_end);
    for (std::size_t i = data_end; i < n && i < group_end; ++i) {
      const std::uint8_t v = sextet(text, i);
      if (v == kInvalid) return fail(Kind::kInvalidCharacter, i);
      if (v != kPad) return fail(Kind::kBadPadding, data_end);
    }
    if (n > group_end) {
      const std::uint8_t v = sextet(text, group_end);
      if (v == kInvalid) return fail(Kind::kInvalidCharacter, group_end);
      return fail(Kind::kTrailingData, group_end);
    }
    if (n < group_end) return fail(Kind::kBadLength, n);
  } else if (n % 4 != 0) {
    return fail(Kind::kBadLength, n);
  }

  std::string out;
  out.resize(data_end / 4 * 3 + (data_end % 4 == 0 ? 0 : data_end % 4 - 1));
  char* o = out.data();
  std::size_t i = 0;
  for (; i + 4 <= data_end; i += 4) {
    const std::uint32_t v = (std::uint32_t{sextet(text, i)} << 18) |
                            (std::uint32_t{sextet(text, i + 1)} << 12) |
                            (std::uint32_t{sextet(text, i + 2)} << 6) | sextet(text, i + 3);
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>(v >> 8);
    *o++ = static_cast<char>(v);
  }
  const std::size_t rest = data_end - i;  // 0, 2 or 3 (1 was rejected as bad padding)
  if (rest >= 2) {
    std::uint32_t v = (std::uint32_t{sextet(text, i)} << 18) | (std::uint32_t{sextet(text, i + 1)} << 12);
    if (rest == 3) v |= std::uint32_t{sextet(text, i + 2)} << 6;
    const std::uint32_t unused_mask = rest == 2 ? 0xFFFF : 0xFF;
    if ((v & unused_mask) != 0) return fail(Kind::kNonZeroPadBits, i + rest - 1);
    *o++ = static_cast<char>(v >> 16);
    if (rest == 3) *o++ = static_cast<char>(v >> 8);
  }
  return out;
}

}  // namespace smtpn::crypto
