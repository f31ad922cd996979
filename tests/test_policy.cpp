// sasl::choose_mechanisms: the default orders with and without TLS, the user's list as filter
// and order, never a mechanism the server did not advertise or we do not implement, and the
// password-revealing ones (PLAIN, LOGIN) kept off connections without TLS unless allowed.
#include <string>
#include <vector>

#include "catch.hpp"
#include "sasl/mechanism.hpp"
#include "sasl/policy.hpp"

using smtpn::sasl::choose_mechanisms;
using smtpn::sasl::PolicyChoice;
using smtpn::sasl::PolicyInput;
using smtpn::sasl::reveals_secret;
using Names = std::vector<std::string>;

namespace {

const Names kAll = {"LOGIN", "PLAIN", "CRAM-MD5"};

PolicyChoice choose(Names offered, Names preferred, bool tls, bool clear_ok = false) {
  return choose_mechanisms(PolicyInput{std::move(offered), std::move(preferred), tls, clear_ok});
}

}  // namespace

TEST_CASE("over TLS the default order is PLAIN, CRAM-MD5, LOGIN", "[policy]") {
  const auto c = choose(kAll, {}, true);
  CHECK(c.candidates == Names{"PLAIN", "CRAM-MD5", "LOGIN"});
  CHECK(c.refused_clear.empty());
  CHECK(choose({"LOGIN", "CRAM-MD5"}, {}, true).candidates == Names{"CRAM-MD5", "LOGIN"});
}

TEST_CASE("without TLS CRAM-MD5 comes first and PLAIN/LOGIN need permission", "[policy]") {
  SECTION("not allowed: only CRAM-MD5, the others reported as refused") {
    const auto c = choose(kAll, {}, false, false);
    CHECK(c.candidates == Names{"CRAM-MD5"});
    CHECK(c.refused_clear == Names{"PLAIN", "LOGIN"});
  }
  SECTION("allowed: the clear-text order") {
    const auto c = choose(kAll, {}, false, true);
    CHECK(c.candidates == Names{"CRAM-MD5", "PLAIN", "LOGIN"});
    CHECK(c.refused_clear.empty());
  }
  SECTION("PLAIN alone, not allowed: nothing to try") {
    const auto c = choose({"PLAIN"}, {}, false, false);
    CHECK(c.candidates.empty());
    CHECK(c.refused_clear == Names{"PLAIN"});
  }
  SECTION("CRAM-MD5 alone needs no permission") {
    const auto c = choose({"CRAM-MD5"}, {}, false, false);
    CHECK(c.candidates == Names{"CRAM-MD5"});
    CHECK(c.refused_clear.empty());
  }
  CHECK(reveals_secret("PLAIN"));
  CHECK(reveals_secret("LOGIN"));
  CHECK_FALSE(reveals_secret("CRAM-MD5"));
}

TEST_CASE("the user's list restricts and orders the mechanisms", "[policy]") {
  CHECK(choose(kAll, {"LOGIN", "PLAIN"}, true).candidates == Names{"LOGIN", "PLAIN"});
  CHECK(choose(kAll, {"LOGIN"}, true).candidates == Names{"LOGIN"});
  CHECK(choose(kAll, {"CRAM-MD5", "LOGIN", "CRAM-MD5"}, true).candidates == Names{"CRAM-MD5", "LOGIN"});
  // A wanted mechanism the server lacks is skipped, not forced.
  CHECK(choose({"PLAIN"}, {"CRAM-MD5", "PLAIN"}, true).candidates == Names{"PLAIN"});
  CHECK(choose({"PLAIN"}, {"CRAM-MD5"}, true).candidates.empty());
  // In the clear the user's order still holds for what remains.
  const auto c = choose(kAll, {"LOGIN", "CRAM-MD5"}, false, false);
  CHECK(c.candidates == Names{"CRAM-MD5"});
  CHECK(c.refused_clear == Names{"LOGIN"});
  CHECK(choose(kAll, {"LOGIN", "CRAM-MD5"}, false, true).candidates == Names{"LOGIN", "CRAM-MD5"});
}

TEST_CASE("never a mechanism the server did not advertise or that we do not implement", "[policy]") {
  CHECK(choose({}, {}, true).candidates.empty());
  CHECK(choose({}, {"PLAIN", "LOGIN", "CRAM-MD5"}, true).candidates.empty());
  CHECK(choose({"XOAUTH2", "GSSAPI", "NTLM"}, {}, true).candidates.empty());
  CHECK(choose({"XOAUTH2", "GSSAPI", "NTLM"}, {"XOAUTH2", "NTLM"}, true).candidates.empty());
  CHECK(choose({"XOAUTH2", "LOGIN"}, {"XOAUTH2", "LOGIN"}, true).candidates == Names{"LOGIN"});
  CHECK(choose({"SCRAM-SHA-256", "PLAIN"}, {}, true).candidates == Names{"PLAIN"});
  CHECK(choose({"LOGIN"}, {}, true).candidates == Names{"LOGIN"});
  CHECK(choose({"LOGIN"}, {}, false).candidates.empty());
  CHECK(choose({"LOGIN"}, {}, false).refused_clear == Names{"LOGIN"});
  // What the server did not offer is not reported as refused either.
  CHECK(choose({"CRAM-MD5"}, {}, false).refused_clear.empty());
}
