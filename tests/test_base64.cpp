// crypto::base64: RFC 4648 vectors both ways, every rejection of the strict decoder (kind and
// offset), canonicity over whole groups, byte-exhaustive and large round trips, and agreement
// with OpenSSL's own encoder.
#include <openssl/evp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "crypto/base64.hpp"

using smtpn::crypto::base64_decode;
using smtpn::crypto::base64_encode;
using smtpn::crypto::base64_encoded_size;
using smtpn::crypto::Base64Error;
using Kind = Base64Error::Kind;

namespace Catch {
template <>
struct StringMaker<Base64Error::Kind> {
  static std::string convert(Base64Error::Kind kind) {
    switch (kind) {
      case Kind::kInvalidCharacter: return "kInvalidCharacter";
      case Kind::kBadLength: return "kBadLength";
      case Kind::kBadPadding: return "kBadPadding";
      case Kind::kTrailingData: return "kTrailingData";
      case Kind::kNonZeroPadBits: return "kNonZeroPadBits";
    }
    return "Kind(" + std::to_string(static_cast<int>(kind)) + ")";
  }
};
}  // namespace Catch

namespace {

std::string random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(static_cast<unsigned char>(rng() & 0xFF));
  return out;
}

// The reference: OpenSSL's EVP_EncodeBlock (standard alphabet, padded, no line breaks).
std::string openssl_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

struct Rejection {
  std::string input;
  Kind kind;
  std::size_t offset;
};

}  // namespace

TEST_CASE("base64 encodes and decodes the RFC 4648 section 10 vectors") {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [bytes, text] : vectors) {
    CAPTURE(bytes, text);
    CHECK(base64_encode(bytes) == text);
    const auto decoded = base64_decode(text);
    REQUIRE(decoded.ok());
    CHECK(decoded.value() == bytes);
  }
}

TEST_CASE("base64 uses the standard alphabet, including '+' and '/'") {
  CHECK(base64_encode("\xfb\xff\xbf") == "+/+/");
  CHECK(base64_encode(std::string_view("\x00\x00\x00", 3)) == "AAAA");
  const auto decoded = base64_decode("+/+/");
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == "\xfb\xff\xbf");
}

TEST_CASE("base64_encoded_size is exact") {
  CHECK(base64_encoded_size(0) == 0);
  CHECK(base64_encoded_size(1) == 4);
  CHECK(base64_encoded_size(2) == 4);
  CHECK(base64_encoded_size(3) == 4);
  CHECK(base64_encoded_size(4) == 8);
  CHECK(base64_encoded_size(10 * 1024 * 1024) == 13981016);
}

TEST_CASE("base64 decoder rejects malformed input, naming the kind and the offset") {
  const auto r = GENERATE(values<Rejection>({
      // Whitespace, anywhere.
      {" Zm9v", Kind::kInvalidCharacter, 0},
      {"Zm9v YmFy", Kind::kInvalidCharacter, 4},
      {"Zm9vYmFy\r\n", Kind::kInvalidCharacter, 8},
      {"Zm9vYmFy\n", Kind::kInvalidCharacter, 8},
      {"Zm\t9v", Kind::kInvalidCharacter, 2},
      {"Z\rm9v", Kind::kInvalidCharacter, 1},
      {"Zm9\n", Kind::kInvalidCharacter, 3},
      {"Zg= =", Kind::kInvalidCharacter, 3},
      {"Zg==\n", Kind::kInvalidCharacter, 4},
      // The character is reported even when the length is also wrong.
      {"a b", Kind::kInvalidCharacter, 1},
      // Characters outside the alphabet.
      {"Zm9-", Kind::kInvalidCharacter, 3},
      {"_m9v", Kind::kInvalidCharacter, 0},
      {"Zm!v", Kind::kInvalidCharacter, 2},
      {"Zm9v\x80m9v", Kind::kInvalidCharacter, 4},
      {"Zm9vZm9\xff", Kind::kInvalidCharacter, 7},
      {std::string("Zm\0v", 4), Kind::kInvalidCharacter, 2},
      {std::string("\0", 1), Kind::kInvalidCharacter, 0},
      {"Zm9v.", Kind::kInvalidCharacter, 4},
      // Lengths that are not whole groups.
      {"Z", Kind::kBadLength, 1},
      {"Zm", Kind::kBadLength, 2},
      {"Zm9", Kind::kBadLength, 3},
      {"Zm9vY", Kind::kBadLength, 5},
      {"Zm9vYmF", Kind::kBadLength, 7},
      // Padding that stops short of the end of its group is a truncation too.
      {"Zg=", Kind::kBadLength, 3},
      {"Zm9vZm8", Kind::kBadLength, 7},
      // Misplaced or excessive padding: '=' in position 0 or 1 of a group.
      {"=AAA", Kind::kBadPadding, 0},
      {"A===", Kind::kBadPadding, 1},
      {"====", Kind::kBadPadding, 0},
      {"=", Kind::kBadPadding, 0},
      {"Zm9v=AAA", Kind::kBadPadding, 4},
      {"Zm9vZ===", Kind::kBadPadding, 5},
      {"Zm9v====", Kind::kBadPadding, 4},
      // '=' followed by a data character inside the final group.
      {"YQ=a", Kind::kBadPadding, 2},
      {"Zm9vYQ=a", Kind::kBadPadding, 6},
      // '=' in the middle of the data.
      {"Zm=vYmFy", Kind::kBadPadding, 2},
      // Anything after the padded final group.
      {"YQ==YQ==", Kind::kTrailingData, 4},
      {"Zm8=Zm9v", Kind::kTrailingData, 4},
      {"YQ==A", Kind::kTrailingData, 4},
      // A third '=' after a complete "xx==" group.
      {"YQ===", Kind::kTrailingData, 4},
      {"Zm8==", Kind::kTrailingData, 4},
      // Set bits that the padding marks unused: "YQ==" is "a"; 'R' = 17 = 0b010001 leaves
      // the low four bits set.
      {"YR==", Kind::kNonZeroPadBits, 1},
      {"YB==", Kind::kNonZeroPadBits, 1},
      {"Y/==", Kind::kNonZeroPadBits, 1},
      // "YWI=" is "ab"; 'J' = 9 = 0b001001 leaves the low two bits set.
      {"YWJ=", Kind::kNonZeroPadBits, 2},
      {"YWL=", Kind::kNonZeroPadBits, 2},
      {"Zm9vYWJ=", Kind::kNonZeroPadBits, 6},
      {"Zm9vZh==", Kind::kNonZeroPadBits, 5},
  }));
  CAPTURE(r.input);
  const auto decoded = base64_decode(r.input);
  REQUIRE_FALSE(decoded.ok());
  CHECK(decoded.error().kind == r.kind);
  CHECK(decoded.error().offset == r.offset);
}

TEST_CASE("base64 decoder rejects every byte outside the alphabet, at any position") {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  int rejected = 0;
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(static_cast<unsigned char>(b));
    if (alphabet.find(c) != std::string::npos) continue;
    for (std::size_t pos = 0; pos < 8; ++pos) {
      std::string text = "Zm9vYmFy";
      text[pos] = c;
      const auto decoded = base64_decode(text);
      CAPTURE(b, pos);
      REQUIRE_FALSE(decoded.ok());
      REQUIRE(decoded.error().kind == Kind::kInvalidCharacter);
      REQUIRE(decoded.error().offset == pos);
    }
    ++rejected;
  }
  CHECK(rejected == 256 - 65);
}

TEST_CASE("base64 decoder errors have a message naming the offset") {
  const auto decoded = base64_decode("Zm9v YmFy");
  REQUIRE_FALSE(decoded.ok());
  const std::string message = decoded.error().message();
  CHECK(message.find("offset 4") != std::string::npos);
}

TEST_CASE("base64 decoder accepts exactly the canonical encoding of each 1- and 2-byte tail") {
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

  SECTION("xx== groups: exactly one spelling per byte value") {
    std::set<std::string> seen;
    for (char a : alphabet) {
      for (char b : alphabet) {
        const std::string text = std::string{a, b} + "==";
        const auto decoded = base64_decode(text);
        if (!decoded.ok()) {
          REQUIRE(decoded.error().kind == Kind::kNonZeroPadBits);
          continue;
        }
        REQUIRE(decoded.value().size() == 1);
        REQUIRE(base64_encode(decoded.value()) == text);
        seen.insert(decoded.value());
      }
    }
    CHECK(seen.size() == 256);
  }

  SECTION("xxx= groups: exactly one spelling per 2-byte value") {
    std::set<std::string> seen;
    std::size_t accepted = 0;
    for (char a : alphabet) {
      for (char b : alphabet) {
        for (char c : alphabet) {
          const std::string text = std::string{a, b, c} + "=";
          const auto decoded = base64_decode(text);
          if (!decoded.ok()) {
            REQUIRE(decoded.error().kind == Kind::kNonZeroPadBits);
            continue;
          }
          ++accepted;
          REQUIRE(decoded.value().size() == 2);
          REQUIRE(base64_encode(decoded.value()) == text);
          seen.insert(decoded.value());
        }
      }
    }
    CHECK(accepted == 65536);
    CHECK(seen.size() == 65536);
  }
}

TEST_CASE("base64 round-trips every single byte value") {
  for (int b = 0; b < 256; ++b) {
    const std::string byte(1, static_cast<char>(static_cast<unsigned char>(b)));
    const std::string text = base64_encode(byte);
    CAPTURE(b, text);
    REQUIRE(text.size() == 4);
    REQUIRE(text.substr(2) == "==");
    REQUIRE(text == openssl_encode(byte));
    const auto decoded = base64_decode(text);
    REQUIRE(decoded.ok());
    REQUIRE(decoded.value() == byte);
  }
}

TEST_CASE("base64 round-trips the 256 byte values in one string") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(static_cast<unsigned char>(b)));
  const std::string text = base64_encode(all);
  CHECK(text.size() == base64_encoded_size(256));
  CHECK(text.substr(0, 20) == "AAECAwQFBgcICQoLDA0O");
  CHECK(text == openssl_encode(all));
  const auto decoded = base64_decode(text);
  REQUIRE(decoded.ok());
  CHECK(decoded.value() == all);
}

TEST_CASE("base64 round-trips random bytes of every length from 0 to 300") {
  for (std::size_t len = 0; len <= 300; ++len) {
    const std::string bytes = random_bytes(len, 0x5eed0000 + len);
    const std::string text = base64_encode(bytes);
    CAPTURE(len);
    REQUIRE(text.size() == base64_encoded_size(len));
    REQUIRE(text == openssl_encode(bytes));
    const auto decoded = base64_decode(text);
    REQUIRE(decoded.ok());
    REQUIRE(decoded.value() == bytes);
  }
}

TEST_CASE("base64 round-trips 10 MB and matches OpenSSL's encoder") {
  // Three sizes so each tail shape (no padding, "=", "==") is covered at scale.
  const std::size_t len = GENERATE(std::size_t{10 * 1024 * 1024}, std::size_t{10 * 1024 * 1024 + 1},
                                   std::size_t{10 * 1024 * 1024 + 2});
  CAPTURE(len);
  const std::string bytes = random_bytes(len, 20240601);
  const std::string text = base64_encode(bytes);
  REQUIRE(text.size() == base64_encoded_size(len));
  CHECK(text.size() == (len + 2) / 3 * 4);

  // A sample of aligned windows against OpenSSL: encoding a 3-byte-aligned slice gives the
  // corresponding slice of the whole encoding.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 64; ++i) {
    const std::size_t start = (rng() % (len / 3)) * 3;
    const std::size_t count = std::min<std::size_t>(len - start, 3 * (1 + rng() % 400));
    CAPTURE(start, count);
    REQUIRE(text.substr(start / 3 * 4, base64_encoded_size(count)) ==
            openssl_encode(std::string_view(bytes).substr(start, count)));
  }
  const std::size_t last_whole_group = len / 3 - 1;
  CHECK(text.substr(last_whole_group * 4) ==
        openssl_encode(std::string_view(bytes).substr(last_whole_group * 3)));

  const auto decoded = base64_decode(text);
  REQUIRE(decoded.ok());
  CHECK(decoded.value().size() == len);
  CHECK(decoded.value() == bytes);
}
