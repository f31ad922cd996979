// Table-driven base64: whole 3-byte groups in the hot loop, the tail handled once.
#include "crypto/base64.hpp"

#include <array>
#include <cstdint>
#include <cstring>

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

// Every pair of output characters for a 12-bit value: two lookups per 3 input bytes instead
// of four, and 2-byte stores (8 KiB, stays in L1).
constexpr std::array<std::array<char, 2>, 4096> make_pair_table() {
  std::array<std::array<char, 2>, 4096> table{};
  for (std::size_t i = 0; i < table.size(); ++i) table[i] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  return table;
}
constexpr auto kPairs = make_pair_table();

void put_group(char* o, std::uint32_t n) {
  std::memcpy(o, kPairs[n >> 12].data(), 2);
  std::memcpy(o + 2, kPairs[n & 0xFFF].data(), 2);
}

// Writes base64_encoded_size(BYTES.size()) characters at O.
void encode_to(char* o, std::string_view bytes) {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3, o += 4)
    put_group(o, (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | in[i + 2]);
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

ByteBuffer base64_encode_buffer(std::string_view bytes) {
  ByteBuffer out(base64_encoded_size(bytes.size()));
  encode_to(out.data(), bytes);
  return out;
}

Secret base64_encode_secret(std::string_view bytes) {
  Secret out = Secret::of_size(base64_encoded_size(bytes.size()));
  encode_to(out.data(), bytes);
  return out;
}

namespace {

void truncate(std::string& s, std::size_t n) { s.resize(n); }
void truncate(ByteBuffer& b, std::size_t n) { b.shrink(n); }

// Validates TEXT and decodes it into an Out made by make_out(size) (a string or a ByteBuffer)
// and then truncated to what was decoded. One pass over the bulk: whole groups of four
// alphabet characters are checked and decoded together; the strict checks below start where
// that stops (at the padding, a bad character, or the end), with the same offsets.
template <class Out, class MakeOut>
Result<Out, Base64Error> decode_as(std::string_view text, MakeOut make_out) {
  using Kind = Base64Error::Kind;
  auto fail = [](Kind kind, std::size_t offset) { return Unexpected{Base64Error{kind, offset}}; };

  const std::size_t n = text.size();
  Out out = make_out(n / 4 * 3 + 3);
  char* o = out.data();
  std::size_t start = 0;
  for (; start + 4 <= n; start += 4, o += 3) {
    const std::uint8_t a = sextet(text, start), b = sextet(text, start + 1), c = sextet(text, start + 2),
                       d = sextet(text, start + 3);
    if (((a | b | c | d) & 0xC0) != 0) break;  // kInvalid or kPad: left to the checks below
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) | (std::uint32_t{c} << 6) | d;
    o[0] = static_cast<char>(v >> 16);
    o[1] = static_cast<char>(v >> 8);
    o[2] = static_cast<char>(v);
  }

  // Characters are checked before length so that "a b" reports the space, not the length.
  std::size_t data_end = n;  // offset of the first '=' (or n)
  for (std::size_t i = start; i < n; ++i) {
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

  std::size_t i = start;
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
  truncate(out, static_cast<std::size_t>(o - out.data()));
  return out;
}

}  // namespace

Result<std::string, Base64Error> base64_decode(std::string_view text) {
  return decode_as<std::string>(text, [](std::size_t n) { return std::string(n, '\0'); });
}

Result<ByteBuffer, Base64Error> base64_decode_buffer(std::string_view text) {
  return decode_as<ByteBuffer>(text, [](std::size_t n) { return ByteBuffer(n); });
}

}  // namespace smtpn::crypto
