// crypto::Secret (access, wiping, move semantics) and crypto hex: lowercase encoding and the
// tolerant fingerprint decoder users type pins into.
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "catch.hpp"
#include "crypto/hex.hpp"
#include "crypto/secret.hpp"

using smtpn::crypto::hex_decode_fingerprint;
using smtpn::crypto::hex_encode;
using smtpn::crypto::Secret;

TEST_CASE("Secret exposes exactly the bytes it was given") {
  const Secret s{std::string_view("hunter2")};
  CHECK(s.expose() == "hunter2");
  CHECK(s.size() == 7);
  CHECK_FALSE(s.empty());

  const Secret binary{std::string_view("a\0b", 3)};
  CHECK(binary.size() == 3);
  CHECK(binary.expose() == std::string_view("a\0b", 3));
}

TEST_CASE("A default Secret is empty") {
  const Secret s;
  CHECK(s.empty());
  CHECK(s.size() == 0);
  CHECK(s.expose().empty());
}

TEST_CASE("Secret::wipe leaves it empty") {
  Secret s{std::string_view("hunter2")};
  s.wipe();
  CHECK(s.empty());
  CHECK(s.size() == 0);
  CHECK(s.expose().empty());
  s.wipe();  // wiping twice is harmless
  CHECK(s.empty());
}

TEST_CASE("Secret built from a temporary string clears that string") {
  std::string plain = "a password long enough to live on the heap";
  Secret s{std::move(plain)};
  CHECK(s.expose() == "a password long enough to live on the heap");
  // The constructor promises to wipe the string it took over, not just leave it "moved from".
  CHECK(plain.empty());  // NOLINT(bugprone-use-after-move)
}

TEST_CASE("Moving a Secret leaves the source empty") {
  SECTION("move construction") {
    Secret source{std::string_view("hunter2")};
    Secret target{std::move(source)};
    CHECK(target.expose() == "hunter2");
    CHECK(source.empty());  // NOLINT(bugprone-use-after-move)
    CHECK(source.expose().empty());
  }
  SECTION("move assignment over a secret that held something else") {
    Secret source{std::string_view("hunter2")};
    Secret target{std::string_view("old password")};
    target = std::move(source);
    CHECK(target.expose() == "hunter2");
    CHECK(source.empty());  // NOLINT(bugprone-use-after-move)
  }
}

TEST_CASE("Copying a Secret gives an independent copy") {
  Secret original{std::string_view("hunter2")};
  Secret copy{original};
  original.wipe();
  CHECK(original.empty());
  CHECK(copy.expose() == "hunter2");

  Secret assigned;
  assigned = copy;
  copy.wipe();
  CHECK(assigned.expose() == "hunter2");
}

TEST_CASE("wipe(std::string&) clears the string") {
  std::string s = "a base64 blob holding a password";
  smtpn::crypto::wipe(s);
  CHECK(s.empty());
}

TEST_CASE("hex_encode gives two lowercase digits per byte") {
  CHECK(hex_encode("") == "");
  CHECK(hex_encode(std::string_view("\x00", 1)) == "00");
  CHECK(hex_encode("\xff") == "ff");
  CHECK(hex_encode("\xab\xcd\xef\x01\x23\x45\x67\x89") == "abcdef0123456789");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(static_cast<unsigned char>(b)));
  const std::string hex = hex_encode(all);
  REQUIRE(hex.size() == 512);
  CHECK(hex.substr(0, 8) == "00010203");
  CHECK(hex.substr(hex.size() - 8) == "fcfdfeff");
}

TEST_CASE("hex_decode_fingerprint accepts any case, with or without ':' separators") {
  const std::string expected = "\xab\xcd\x01";
  const auto text = GENERATE(as<std::string>{}, "AB:cd:01", "abcd01", "ABCD01", "ab:CD:01", "Ab:cD01");
  CAPTURE(text);
  const auto bytes = hex_decode_fingerprint(text);
  REQUIRE(bytes.has_value());
  CHECK(*bytes == expected);
}

TEST_CASE("hex_decode_fingerprint reads a SHA-256 fingerprint as printed by openssl") {
  const std::string printed =
      "9F:86:D0:81:88:4C:7D:65:9A:2F:EA:A0:C5:5A:D0:15:A3:BF:4F:1B:2B:0B:82:2C:D1:5D:6C:15:B0:F0:0A:08";
  const auto bytes = hex_decode_fingerprint(printed);
  REQUIRE(bytes.has_value());
  CHECK(bytes->size() == 32);
  CHECK(hex_encode(*bytes) == "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

TEST_CASE("hex_decode_fingerprint rejects what is not pairs of hex digits") {
  const auto text = GENERATE(as<std::string>{}, "", "abc", "a", "zz", "ab:", ":ab", "ab::cd", "a:bc", " ab",
                             "ab ", "ab-cd", "0x01", "ab\ncd", ":");
  CAPTURE(text);
  CHECK_FALSE(hex_decode_fingerprint(text).has_value());
}

TEST_CASE("hex_decode_fingerprint inverts hex_encode") {
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(static_cast<unsigned char>(b)));
  const auto bytes = hex_decode_fingerprint(hex_encode(all));
  REQUIRE(bytes.has_value());
  CHECK(*bytes == all);
}
