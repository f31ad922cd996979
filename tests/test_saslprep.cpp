// SASLprep (RFC 4013) as sasl::saslprep does it through ICU: the RFC's own examples (§3), the
// cases the Lisp layer used to handle with ucs-normalize (NFKC, soft hyphen, non-ASCII spaces),
// every class of prohibited output, the bidi rule, and unassigned code points (allowed: a
// client's credentials are queries).
#include <string>
#include <string_view>

#include "catch.hpp"
#include "sasl/saslprep.hpp"

using namespace smtpn;
using Kind = sasl::SaslError::Kind;

namespace {

// The prepared text, or "ERROR: <message>".
std::string prep(std::string_view text) {
  auto r = sasl::saslprep(text, "password");
  return r ? std::string(r.value().expose()) : "ERROR: " + r.error().message;
}

bool refused(std::string_view text) {
  auto r = sasl::saslprep(text, "password");
  return !r && r.error().kind == Kind::kBadCredentials;
}

}  // namespace

TEST_CASE("SASLprep: RFC 4013 section 3's examples", "[sasl][saslprep]") {
  CHECK(prep("I\xC2\xAD" "X") == "IX");         // 1: SOFT HYPHEN mapped to nothing
  CHECK(prep("user") == "user");                // 2: no transformation
  CHECK(prep("USER") == "USER");                // 3: case preserved
  CHECK(prep("\xC2\xAA") == "a");               // 4: U+00AA, output is NFKC
  CHECK(prep("\xE2\x85\xA8") == "IX");          // 5: U+2168 ROMAN NUMERAL NINE, NFKC
  CHECK(refused("\x07"));                       // 6: prohibited character
  CHECK(refused("\xD8\xA7" "1"));               // 7: U+0627 then "1": bidi check
}

TEST_CASE("SASLprep: what ucs-normalize did in Lisp, now here", "[sasl][saslprep]") {
  CHECK(prep("\xE2\x85\xB8") == "ix");                          // U+2178 SMALL ROMAN NUMERAL NINE
  CHECK(prep("p\xC3\xA4ss") == "p\xC3\xA4ss");                  // precomposed stays
  CHECK(prep("pa\xCC\x88ss") == "p\xC3\xA4ss");                 // a + COMBINING DIAERESIS composes
  CHECK(prep("\xEF\xBC\xA1" "b") == "Ab");                      // FULLWIDTH A
  CHECK(prep("pa\xC2\xADss") == "pass");                        // soft hyphen removed
  CHECK(prep("a\xE2\x80\x8D" "b\xEF\xBB\xBF" "c") == "abc");    // ZWJ and BOM (table B.1)
  // ZERO WIDTH SPACE is in both C.1.2 and B.1; RFC 4013 section 2.1 maps C.1.2 first.
  CHECK(prep("a\xE2\x80\x8B" "b") == "a b");
  CHECK(prep("a\xC2\xA0" "b") == "a b");                        // NO-BREAK SPACE
  CHECK(prep("a\xE3\x80\x80" "b") == "a b");                    // IDEOGRAPHIC SPACE
  CHECK(prep("a\xE2\x80\x83" "b\xC2\xA0") == "a b ");           // EM SPACE, trailing NBSP
  CHECK(prep("\xEF\xB7\xBA").size() > 30);                      // U+FDFA expands to 18 letters
}

TEST_CASE("SASLprep: prohibited output and bidi are refused, never echoed", "[sasl][saslprep]") {
  for (const std::string_view bad : {
           std::string_view("ab\x07" "cd"),          // C.2.1 ASCII control
           std::string_view("\xC3\xA9\x07"),         // the same after non-ASCII text
           std::string_view("\xC2\x85"),             // C.2.2 NEL
           std::string_view("a\xE2\x80\x8E" "b"),    // C.2.2 / C.8 LEFT-TO-RIGHT MARK
           std::string_view("\xEE\x80\x80"),         // C.3 private use U+E000
           std::string_view("\xEF\xBF\xBF"),         // C.4 non-character U+FFFF
           std::string_view("\xEF\xBF\xBD"),         // C.6 REPLACEMENT CHARACTER
           std::string_view("\xE2\xBF\xB0"),         // C.7 U+2FF0 ideographic description
           std::string_view("\xE2\x80\xAE"),         // C.8 RIGHT-TO-LEFT OVERRIDE
           std::string_view("\xE2\x81\xAA"),         // C.8 INHIBIT SYMMETRIC SWAPPING
           std::string_view("\xF3\xA0\x80\x81"),     // C.9 LANGUAGE TAG U+E0001
           std::string_view("\xD8\xA7" "a\xD8\xA8"), // RandALCat with LCat
           std::string_view("1\xD8\xA7"),            // RandALCat string must start with one
       }) {
    INFO("bytes: " << bad.size());
    auto r = sasl::saslprep(bad, "password");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::kBadCredentials);
    CHECK(r.error().message.find("password") != std::string::npos);
    CHECK(r.error().message.find(std::string(bad)) == std::string::npos);
  }
  CHECK(prep("\xD8\xA7" "1\xD8\xA8") == "\xD8\xA7" "1\xD8\xA8");  // RandAL first and last: fine
}

TEST_CASE("SASLprep: unassigned code points pass (a query), invalid UTF-8 and empty do not",
          "[sasl][saslprep]") {
  CHECK(prep("\xC8\xA1") == "\xC8\xA1");  // U+0221, unassigned in Unicode 3.2
  CHECK(refused("\xFF"));
  CHECK(refused("\xED\xA0\x80"));         // a surrogate
  CHECK(refused(""));
  CHECK(refused("\xC2\xAD"));             // empty once mapped
  auto optional = sasl::saslprep("", "user name", false);
  REQUIRE(optional.ok());
  CHECK(optional.value().empty());
}
