// sasl::cram_md5_response: the RFC 2195 example, binary and empty challenges, and the
// rejection of challenges that are not strict base64 or are larger than the bound.
#include <optional>
#include <string>
#include <string_view>

#include "catch.hpp"
#include "crypto/base64.hpp"
#include "crypto/secret.hpp"
#include "sasl/cram_md5.hpp"
#include "sasl_error_maker.hpp"
#include "support/rfc2195.hpp"

using smtpn::crypto::base64_decode;
using smtpn::crypto::Secret;
using smtpn::sasl::cram_md5_response;
using smtpn::sasl::kMaxCramChallengeBase64;
using smtpn::sasl::SaslError;

namespace {

constexpr std::string_view kRfcChallenge = smtpn::test::kRfc2195Challenge;
constexpr std::string_view kRfcResponse = smtpn::test::kRfc2195Response;

const Secret& rfc_password() {
  static const Secret password{smtpn::test::kRfc2195Password};
  return password;
}

std::string decoded(const Secret& response) {
  const auto plain = base64_decode(response.expose());
  REQUIRE(plain.ok());
  return plain.value();
}

}  // namespace

TEST_CASE("CRAM-MD5 answers the RFC 2195 example") {
  const auto response = cram_md5_response("tim", rfc_password(), kRfcChallenge);
  REQUIRE(response.ok());
  CHECK(response.value().expose() == kRfcResponse);
  CHECK(decoded(response.value()) == "tim b913a602c7eda7a495b4e6e7334d3890");
}

TEST_CASE("CRAM-MD5 hashes the decoded challenge bytes, NULs and high bytes included") {
  std::string challenge;
  for (int b = 0; b < 256; ++b) challenge.push_back(static_cast<char>(static_cast<unsigned char>(b)));
  const Secret password{std::string_view("p\0ss", 4)};
  const auto response =
      cram_md5_response("user@example.org", password, smtpn::crypto::base64_encode(challenge));
  REQUIRE(response.ok());
  CHECK(response.value().expose() == "dXNlckBleGFtcGxlLm9yZyAwNGJhNDk3NTMzZDJkZmQ3YTUwYzhmNGE2MTFjZTQzZg==");
}

TEST_CASE("CRAM-MD5 accepts an empty challenge as zero bytes") {
  const auto response = cram_md5_response("tim", rfc_password(), "");
  REQUIRE(response.ok());
  // HMAC-MD5("tanstaaftanstaaf", "") = ba0016591d612662348b20bcd7f4439a
  CHECK(decoded(response.value()) == "tim ba0016591d612662348b20bcd7f4439a");
  CHECK(response.value().expose() == "dGltIGJhMDAxNjU5MWQ2MTI2NjIzNDhiMjBiY2Q3ZjQ0Mzlh");
}

TEST_CASE("CRAM-MD5 response depends on the password") {
  const Secret other{std::string_view("tanstaaftanstaafX")};
  const auto response = cram_md5_response("tim", other, kRfcChallenge);
  REQUIRE(response.ok());
  CHECK(response.value().expose() != kRfcResponse);
  CHECK(decoded(response.value()).rfind("tim ", 0) == 0);
}

TEST_CASE("CRAM-MD5 rejects a challenge that is not strict base64, saying where") {
  struct Case {
    std::string challenge;
    std::size_t offset;
  };
  const std::string rfc(kRfcChallenge);
  const auto c = GENERATE_COPY(values<Case>({
      {rfc.substr(0, 8) + " " + rfc.substr(8), 8},  // a space inside
      {rfc + "\r\n", 56},                           // line end left on by a caller
      {"\t" + rfc, 0},                              //
      {rfc.substr(0, 7), 7},                        // truncated
      {rfc.substr(0, 52) + "-" + rfc.substr(53), 52},
      {"YR==", 1},      // non-zero unused bits
      {"YQ==YQ==", 4},  // data after the padding
      {"=AAA", 0},      // padding first
  }));
  CAPTURE(c.challenge);
  const auto response = cram_md5_response("tim", rfc_password(), c.challenge);
  REQUIRE_FALSE(response.ok());
  CHECK(response.error().kind == SaslError::Kind::kBadChallenge);
  REQUIRE(response.error().offset.has_value());
  CHECK(*response.error().offset == c.offset);
  CHECK_FALSE(response.error().message.empty());
}

TEST_CASE("CRAM-MD5 enforces the challenge size bound") {
  SECTION("a challenge of exactly the bound is answered") {
    const std::string challenge(kMaxCramChallengeBase64, 'A');
    const auto response = cram_md5_response("tim", rfc_password(), challenge);
    REQUIRE(response.ok());
    // 4096 'A's decode to 3072 NUL bytes; HMAC-MD5 computed independently.
    CHECK(response.value().expose() == "dGltIDFkZTg4MDU5ZGQ2OGJiZDYwYmQ0NDY1MzFkNjI2NzBh");
  }
  SECTION("one group past the bound is too large, even though it is valid base64") {
    const std::string challenge(kMaxCramChallengeBase64 + 4, 'A');
    const auto response = cram_md5_response("tim", rfc_password(), challenge);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().kind == SaslError::Kind::kTooLarge);
  }
  SECTION("one byte past the bound is too large rather than badly formed") {
    const std::string challenge(kMaxCramChallengeBase64 + 1, 'A');
    const auto response = cram_md5_response("tim", rfc_password(), challenge);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().kind == SaslError::Kind::kTooLarge);
  }
  SECTION("a megabyte challenge is refused") {
    const std::string challenge(1 << 20, 'A');
    const auto response = cram_md5_response("tim", rfc_password(), challenge);
    REQUIRE_FALSE(response.ok());
    CHECK(response.error().kind == SaslError::Kind::kTooLarge);
  }
}
