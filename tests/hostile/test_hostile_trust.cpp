// Trust decisions a user must be able to act on: every refused certificate carries its facts
// (reason, chain, fingerprint, how to pin it) and nothing of SMTP crosses its tunnel; the probe
// describes an untrusted server without signalling and never logs in over it; a wrong stream
// type for the port says which one to use, quickly.
#include <algorithm>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"
#include "net/certificate.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;
using net::VerifyError;

namespace {

std::string fingerprint(Cert cert) {
  return net::certificate_sha256(TestPki::instance().leaf(cert).cert.get());
}

// A server that would accept anything inside TLS: a client that went on would show it.
void serve_inside_tls(Connection& c) {
  answer_ehlo(c, {"PIPELINING", "AUTH PLAIN LOGIN"});
  while (auto line = c.read_line()) c.reply(line->rfind("AUTH", 0) == 0 ? "235 2.7.0 ok" : "250 ok");
}

// The trusted test certificate, refused because of a client setting CONFIGURE makes: the error
// names REASON and the certificate the server sent, and nothing went through the tunnel.
// Returns the error's text.
std::string refusal_by_setting(const std::function<void(smtp::SessionOptions&)>& configure,
                               VerifyError reason) {
  HostileServer server([](Connection& c) {
    if (open_starttls(c, {"AUTH PLAIN"}, Cert::kTrusted)) serve_inside_tls(c);
  });
  smtp::SessionOptions options = hostile_auth_options(server.port());
  configure(options);
  const auto [out, rec] = send_to(server, options);
  REQUIRE(out.error);
  INFO(out.error_text());
  REQUIRE(out.error->certificate());
  CHECK(out.error->certificate()->reason == reason);
  REQUIRE_FALSE(out.error->certificate()->chain.empty());
  CHECK(out.error->certificate()->chain.front().sha256 == fingerprint(Cert::kTrusted));
  CHECK(rec.after_tls.empty());
  return out.error_text();
}

struct ProbeOutcome {
  std::optional<smtp::ServerInfo> info;
  std::optional<smtp::SmtpError> error;
  int password_asked = 0;
};

ProbeOutcome run_probe(smtp::SessionOptions options, bool login) {
  ProbeOutcome out;
  options.password = [&out] {
    ++out.password_asked;
    return crypto::Secret(kPassword);
  };
  try {
    out.info = smtp::probe_server(options, login);
  } catch (const smtp::SmtpError& e) {
    out.error = e;
  }
  return out;
}

}  // namespace

TEST_CASE("a refused certificate carries its reason, chain and fingerprint, and how to pin it",
          "[hostile][trust][cert]") {
  const std::pair<Cert, VerifyError> cases[] = {{Cert::kSelfSigned, VerifyError::kSelfSigned},
                                                {Cert::kWrongHost, VerifyError::kHostnameMismatch},
                                                {Cert::kExpired, VerifyError::kExpired},
                                                {Cert::kNotYetValid, VerifyError::kNotYetValid}};
  for (const auto& [cert, reason] : cases) {
    for (const bool implicit : {false, true}) {
      DYNAMIC_SECTION(cert_name(cert) << (implicit ? ", implicit TLS" : ", STARTTLS")) {
        HostileServer server([cert = cert, implicit](Connection& c) {
          if (implicit ? c.start_tls(cert) : open_starttls(c, {"PIPELINING", "AUTH PLAIN"}, cert)) {
            if (implicit) greet(c);
            serve_inside_tls(c);
          }
        });
        const smtp::SessionOptions options = hostile_auth_options(
            server.port(), implicit ? smtp::StreamType::kImplicitTls : smtp::StreamType::kStartTls);
        const auto [out, rec] = send_to(server, options);
        REQUIRE(out.error);
        INFO(out.error_text());
        CHECK(out.error->kind() == Kind::kTls);
        REQUIRE(out.error->certificate());
        const net::CertificateFailure& facts = *out.error->certificate();
        CHECK(facts.reason == reason);
        REQUIRE(facts.chain.size() == 1);  // the test server sends the leaf alone
        CHECK(facts.chain.front().sha256 == fingerprint(cert));
        CHECK(contains(facts.chain.front().subject, cert == Cert::kWrongHost ? "CN=wrong.example" : "CN=localhost"));
        CHECK(contains(facts.chain.front().issuer, cert == Cert::kSelfSigned ? "CN=localhost" : "CN=smtpn hostile test CA"));
        CHECK_FALSE(facts.chain.front().not_before.empty());
        CHECK_FALSE(facts.chain.front().not_after.empty());
        // Plain words first, then OpenSSL's; the fingerprint and the setting that trusts it.
        CHECK(out.error_text().rfind(std::string("the server certificate was refused: ") +
                                         net::verify_error_words(reason),
                                     0) == 0);
        CHECK(contains(out.error_text(), "(\"127.0.0.1:" + server.port() + "\" . \"" + fingerprint(cert) + "\")"));
        CHECK(contains(out.error_text(), "smtpmail-native-pinned-certificates"));
        // Refused before a single byte of SMTP went through the tunnel.
        CHECK(rec.before_tls == (implicit ? "" : "EHLO client.test\r\nSTARTTLS\r\n"));
        CHECK(rec.after_tls.empty());
        CHECK_FALSE(contains(rec.before_tls + rec.after_tls, "AUTH"));
      }
    }
  }
  SECTION("an issuer this client does not trust") {
    // No trust file: the system store alone, which knows nothing of the test CA.
    refusal_by_setting([](smtp::SessionOptions& o) { o.tls.trust_file.clear(); },
                       VerifyError::kUnknownIssuer);
  }
  SECTION("a pinned certificate that changed") {
    std::string pin(32, '\0');
    unsigned int len = 0;
    X509_digest(TestPki::instance().leaf(Cert::kSelfSigned).cert.get(), EVP_sha256(),
                reinterpret_cast<unsigned char*>(pin.data()), &len);
    const std::string error_text = refusal_by_setting(
        [&pin](smtp::SessionOptions& o) { o.tls.pin_sha256 = pin; }, VerifyError::kPinMismatch);
    INFO(error_text);
    CHECK(contains(error_text, "does not match the pinned " + fingerprint(Cert::kSelfSigned)));
  }
}

TEST_CASE("a send that asks to report an untrusted certificate still refuses it before any SMTP byte",
          "[hostile][trust][cert]") {
  HostileServer server([](Connection& c) {
    if (open_starttls(c, {"PIPELINING", "AUTH PLAIN"}, Cert::kSelfSigned)) serve_inside_tls(c);
  });
  smtp::SessionOptions options = hostile_auth_options(server.port());
  options.tls.report_untrusted = true;  // meant for the probe only
  const auto [out, rec] = send_to(server, options);
  REQUIRE(out.error);
  INFO(out.error_text());
  REQUIRE(out.error->certificate());
  CHECK(out.error->certificate()->reason == VerifyError::kSelfSigned);
  CHECK(rec.after_tls.empty());
  CHECK_FALSE(contains(rec.before_tls + rec.after_tls, "AUTH"));
}

TEST_CASE("the probe describes a server with an untrusted certificate and never logs in over it",
          "[hostile][trust][probe]") {
  HostileServer server([](Connection& c) {
    if (!open_starttls(c, {"PIPELINING", "AUTH PLAIN LOGIN"}, Cert::kSelfSigned)) return;
    serve_inside_tls(c);
  });
  smtp::SessionOptions options = hostile_auth_options(server.port());
  options.tls.report_untrusted = true;
  const ProbeOutcome out = run_probe(options, true);
  const Record& rec = server.finish();
  INFO((out.error ? out.error->what() : ""));
  REQUIRE(out.info);
  const smtp::ServerInfo& info = *out.info;
  CHECK(info.greeting.code == 220);
  const auto has = [](const std::vector<std::string>& v, const char* s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  CHECK(has(info.capabilities_before_tls, "STARTTLS"));
  CHECK(has(info.capabilities_after_tls, "AUTH PLAIN LOGIN"));
  CHECK_FALSE(has(info.capabilities_after_tls, "STARTTLS"));
  REQUIRE(info.tls);
  CHECK_FALSE(info.tls->verified);
  CHECK(info.tls->verify_error == VerifyError::kSelfSigned);
  REQUIRE(info.tls->chain.size() == 1);
  CHECK(info.tls->chain.front().sha256 == fingerprint(Cert::kSelfSigned));
  CHECK(info.offered_mechanisms == std::vector<std::string>{"PLAIN", "LOGIN"});
  CHECK(info.chosen_mechanism == "PLAIN");
  CHECK(info.connect_ms >= 0);
  CHECK(info.tls_ms >= 0);
  CHECK(info.round_trip_ms >= 0);
  // The login test was asked for, and refused without a word to the server.
  CHECK(info.login_mechanism.empty());
  REQUIRE(info.login_error);
  CHECK(info.login_error->kind() == Kind::kAuth);
  CHECK(contains(info.login_error->what(), "not trusted"));
  CHECK(out.password_asked == 0);
  CHECK(rec.after_tls == "EHLO client.test\r\nQUIT\r\n");
}

TEST_CASE("the probe signals a refused certificate unless asked to report it", "[hostile][trust][probe]") {
  HostileServer server([](Connection& c) {
    if (open_starttls(c, {"AUTH PLAIN"}, Cert::kExpired)) serve_inside_tls(c);
  });
  const ProbeOutcome out = run_probe(hostile_auth_options(server.port()), false);
  const Record& rec = server.finish();
  REQUIRE(out.error);
  REQUIRE(out.error->certificate());
  CHECK(out.error->certificate()->reason == VerifyError::kExpired);
  CHECK(rec.after_tls.empty());
}

TEST_CASE("the probe's login test: the mechanism that worked, or the refusal as data", "[hostile][trust][probe]") {
  const bool refused = GENERATE(false, true);
  HostileServer server([refused](Connection& c) {
    if (!open_starttls(c, {"AUTH PLAIN"})) return;
    answer_ehlo(c, {"AUTH PLAIN"});
    c.expect("AUTH PLAIN ");
    c.reply(refused ? "535 5.7.8 bad credentials" : "235 2.7.0 ok");
    c.expect("QUIT");
    c.reply("221 bye");
  });
  const ProbeOutcome out = run_probe(hostile_auth_options(server.port()), true);
  const Record& rec = server.finish();
  INFO((out.error ? out.error->what() : "") << rec.script_error);
  REQUIRE(out.info);
  CHECK(out.password_asked == 1);
  CHECK_FALSE(contains(rec.after_tls, "MAIL"));
  if (refused) {
    REQUIRE(out.info->login_error);
    CHECK(out.info->login_error->kind() == Kind::kAuth);
    CHECK(out.info->login_error->code() == 535);
    CHECK(out.info->login_mechanism.empty());
  } else {
    CHECK_FALSE(out.info->login_error);
    CHECK(out.info->login_mechanism == "PLAIN");
  }
}

TEST_CASE("implicit TLS against a plain SMTP port says to use starttls", "[hostile][trust][hint]") {
  HostileServer server([](Connection& c) {
    greet(c);
    c.wait_for_close();
  });
  smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kImplicitTls);
  const auto [out, rec] = send_to(server, options);
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kTls);
  CHECK(out.error->hint() == smtp::Hint::kUseStartTls);
  CHECK(out.error_text().rfind("the server talks plain SMTP on port " + server.port(), 0) == 0);
  CHECK_FALSE(contains(rec.before_tls, "EHLO"));
}

TEST_CASE("STARTTLS against an implicit-TLS port fails within seconds and says to use ssl",
          "[hostile][trust][hint]") {
  HostileServer server([](Connection& c) {
    c.start_tls(Cert::kTrusted, 15000);  // waits for a ClientHello that never comes
  });
  smtp::SessionOptions options = hostile_auth_options(server.port());
  options.timeout_seconds = 60;  // the greeting timeout it must not wait for
  const auto [out, rec] = send_to(server, options);
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kTimeout);
  CHECK(out.error->hint() == smtp::Hint::kUseImplicitTls);
  CHECK(contains(out.error_text(), "no greeting"));
  CHECK(contains(out.error_text(), "`ssl'"));
  CHECK(out.seconds >= smtp::kSilentGreetingSeconds - 0.5);
  CHECK(out.seconds < smtp::kSilentGreetingSeconds + 5);
  CHECK(rec.handshake_bytes.empty());  // the client said nothing
}

TEST_CASE("a greeting that comes late but within the cut-off is waited for", "[hostile][trust][hint]") {
  HostileServer server([](Connection& c) {
    c.sleep(1500);
    if (open_starttls(c, {"PIPELINING"})) {
      answer_ehlo(c, {"PIPELINING"});
      serve_transaction(c);
    }
  });
  smtp::SessionOptions options = hostile_options(server.port());
  options.timeout_seconds = 10;
  const Outcome out = run_send(options);
  server.finish();
  INFO(out.error_text());
  CHECK(out.result);
}

TEST_CASE("OpenSSL's verify codes map to the reasons a user can act on", "[trust][cert]") {
  // Every result the reasons table lists, by reason, and one it does not (kOther).
  const std::pair<VerifyError, std::vector<long>> by_reason[] = {
      {VerifyError::kNone, {X509_V_OK}},
      {VerifyError::kSelfSigned, {X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN}},
      {VerifyError::kUnknownIssuer,
       {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
        X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE}},
      {VerifyError::kExpired, {X509_V_ERR_CERT_HAS_EXPIRED}},
      {VerifyError::kNotYetValid, {X509_V_ERR_CERT_NOT_YET_VALID}},
      {VerifyError::kHostnameMismatch, {X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH}},
      {VerifyError::kRevoked, {X509_V_ERR_CERT_REVOKED}},
      {VerifyError::kOther, {X509_V_ERR_CERT_SIGNATURE_FAILURE}},
  };
  for (const auto& [reason, codes] : by_reason)
    for (const long code : codes) {
      CAPTURE(code);
      CHECK(net::classify_verify_result(code) == reason);
    }
  CHECK(std::string(net::verify_error_name(VerifyError::kRevoked)) == "revoked");
}
