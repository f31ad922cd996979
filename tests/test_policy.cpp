// sasl::choose_mechanisms: the default orders with and without TLS, the user's list as filter
// and order, never a mechanism the server did not advertise or we do not implement, and every
// mechanism but EXTERNAL (the challenge-response ones too: their responses crack offline) kept
// off connections without TLS unless the user allowed it for that server.
#include <string>
#include <vector>

#include "catch.hpp"
#include "sasl/mechanism.hpp"
#include "sasl/policy.hpp"

using smtpn::sasl::choose_mechanisms;
using smtpn::sasl::PolicyChoice;
using smtpn::sasl::PolicyInput;
using smtpn::sasl::exposes_secret;
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

TEST_CASE("without TLS every password mechanism needs permission; then CRAM-MD5 comes first", "[policy]") {
  SECTION("not allowed: nothing to try, all reported as refused") {
    const auto c = choose(kAll, {}, false, false);
    CHECK(c.candidates.empty());
    CHECK(c.refused_clear == Names{"CRAM-MD5", "PLAIN", "LOGIN"});
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
  SECTION("CRAM-MD5 alone needs permission too: a captured response cracks offline") {
    const auto c = choose({"CRAM-MD5"}, {}, false, false);
    CHECK(c.candidates.empty());
    CHECK(c.refused_clear == Names{"CRAM-MD5"});
    CHECK(choose({"CRAM-MD5"}, {}, false, true).candidates == Names{"CRAM-MD5"});
  }
  CHECK(exposes_secret("PLAIN"));
  CHECK(exposes_secret("LOGIN"));
  CHECK(exposes_secret("CRAM-MD5"));
}

TEST_CASE("the user's list restricts and orders the mechanisms", "[policy]") {
  CHECK(choose(kAll, {"LOGIN", "PLAIN"}, true).candidates == Names{"LOGIN", "PLAIN"});
  CHECK(choose(kAll, {"LOGIN"}, true).candidates == Names{"LOGIN"});
  CHECK(choose(kAll, {"CRAM-MD5", "LOGIN", "CRAM-MD5"}, true).candidates == Names{"CRAM-MD5", "LOGIN"});
  // A wanted mechanism the server lacks is skipped, not forced.
  CHECK(choose({"PLAIN"}, {"CRAM-MD5", "PLAIN"}, true).candidates == Names{"PLAIN"});
  CHECK(choose({"PLAIN"}, {"CRAM-MD5"}, true).candidates.empty());
  // In the clear the user's list enables nothing; with permission its order holds.
  const auto c = choose(kAll, {"LOGIN", "CRAM-MD5"}, false, false);
  CHECK(c.candidates.empty());
  CHECK(c.refused_clear == Names{"LOGIN", "CRAM-MD5"});
  CHECK(choose(kAll, {"LOGIN", "CRAM-MD5"}, false, true).candidates == Names{"LOGIN", "CRAM-MD5"});
}

TEST_CASE("never a mechanism the server did not advertise or that we do not implement", "[policy]") {
  CHECK(choose({}, {}, true).candidates.empty());
  CHECK(choose({}, {"PLAIN", "LOGIN", "CRAM-MD5"}, true).candidates.empty());
  CHECK(choose({"GSSAPI", "NTLM", "ANONYMOUS"}, {}, true).candidates.empty());
  CHECK(choose({"GSSAPI", "NTLM"}, {"GSSAPI", "NTLM"}, true).candidates.empty());
  CHECK(choose({"NTLM", "LOGIN"}, {"NTLM", "LOGIN"}, true).candidates == Names{"LOGIN"});
  // OAuth mechanisms are not in the default order without a token source.
  CHECK(choose({"XOAUTH2", "OAUTHBEARER", "PLAIN"}, {}, true).candidates == Names{"PLAIN"});
  CHECK(choose({"LOGIN"}, {}, true).candidates == Names{"LOGIN"});
  CHECK(choose({"LOGIN"}, {}, false).candidates.empty());
  CHECK(choose({"LOGIN"}, {}, false).refused_clear == Names{"LOGIN"});
  // What the server did not offer is not reported as refused either.
  CHECK(choose({"CRAM-MD5"}, {}, false).refused_clear == Names{"CRAM-MD5"});
  CHECK(choose({"CRAM-MD5"}, {"PLAIN"}, false).refused_clear.empty());
}

namespace {

PolicyChoice choose_with(Names offered, Names preferred, bool tls, bool binding, bool token = false,
                         bool certificate = false, bool clear_ok = false) {
  PolicyInput in{std::move(offered), std::move(preferred), tls, clear_ok};
  in.channel_binding = binding;
  in.token_source = token;
  in.client_certificate = certificate;
  return choose_mechanisms(in);
}

const Names kModern = {"DIGEST-MD5",    "LOGIN",   "PLAIN",       "CRAM-MD5",         "SCRAM-SHA-1",
                       "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256-PLUS",
                       "EXTERNAL"};

}  // namespace

TEST_CASE("default order over TLS with binding: SCRAM -PLUS first, DIGEST-MD5 last", "[policy][sasl]") {
  CHECK(choose_with(kModern, {}, true, true).candidates == Names{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS",
                                                                 "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN",
                                                                 "CRAM-MD5", "LOGIN", "DIGEST-MD5"});
  // Without binding data (TLS 1.2 without extended master secret) -PLUS cannot run.
  CHECK(choose_with(kModern, {}, true, false).candidates ==
        Names{"SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "CRAM-MD5", "LOGIN", "DIGEST-MD5"});
  // Even the user cannot ask for a -PLUS without binding data.
  CHECK(choose_with(kModern, {"SCRAM-SHA-256-PLUS", "PLAIN"}, true, false).candidates == Names{"PLAIN"});
}

TEST_CASE("a token source puts OAUTHBEARER and XOAUTH2 first; a certificate puts EXTERNAL first",
          "[policy][sasl]") {
  const auto token = choose_with(kModern, {}, true, true, true).candidates;
  REQUIRE(token.size() > 3);
  CHECK(Names(token.begin(), token.begin() + 3) == Names{"OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256-PLUS"});
  const auto cert = choose_with(kModern, {}, true, true, false, true).candidates;
  CHECK(cert.front() == "EXTERNAL");
  // EXTERNAL needs a certificate even when the user lists it.
  CHECK(choose_with(kModern, {"EXTERNAL", "PLAIN"}, true, true).candidates == Names{"PLAIN"});
  // The user may list XOAUTH2 without a token function: the password slot holds the token.
  CHECK(choose_with(kModern, {"XOAUTH2"}, true, true).candidates == Names{"XOAUTH2"});
}

TEST_CASE("without TLS no mechanism runs unless allowed; then challenge-response first", "[policy][sasl]") {
  const auto c = choose_with(kModern, {}, false, false, true, true);
  CHECK(c.candidates.empty());
  CHECK(c.refused_clear == Names{"OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5",
                                 "DIGEST-MD5", "PLAIN", "LOGIN"});
  const auto allowed = choose_with(kModern, {}, false, false, true, true, true);
  // (DIGEST-MD5 behind PLAIN here only because SCRAM is there: it never leads SCRAM.)
  CHECK(allowed.candidates == Names{"OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5",
                                    "PLAIN", "LOGIN", "DIGEST-MD5"});
  CHECK(allowed.refused_clear.empty());
  for (const char* name : {"SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN",
                           "XOAUTH2", "OAUTHBEARER"})
    CHECK(exposes_secret(name));
  CHECK_FALSE(exposes_secret("EXTERNAL"));
}

TEST_CASE("DIGEST-MD5 never goes ahead of SCRAM or PLAIN over TLS, even when listed first",
          "[policy][sasl]") {
  CHECK(choose_with(kModern, {"DIGEST-MD5", "SCRAM-SHA-1"}, false, false, false, false, true).candidates ==
        Names{"SCRAM-SHA-1", "DIGEST-MD5"});
  CHECK(choose_with(kModern, {"DIGEST-MD5", "PLAIN"}, true, false).candidates ==
        Names{"PLAIN", "DIGEST-MD5"});
  // Without TLS, PLAIN is no reason to demote it; and alone it runs.
  CHECK(choose_with(kModern, {"DIGEST-MD5", "PLAIN"}, false, false, false, false, true).candidates ==
        Names{"DIGEST-MD5", "PLAIN"});
  CHECK(choose_with({"DIGEST-MD5"}, {}, false, false, false, false, true).candidates == Names{"DIGEST-MD5"});
}
