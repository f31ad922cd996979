// Session and SASL: the exact AUTH bytes of PLAIN, LOGIN and CRAM-MD5 (RFC 2195's vector),
// failures (535 stops, 504 moves on, bad or endless challenges), the plaintext policy (no
// password mechanism without TLS to a remote server unless allowed) with no credential byte on the wire, when the password is asked for, and a trace free of secrets.
#include <algorithm>
#include <string>
#include <vector>

#include "catch.hpp"
#include "mechanism_override.hpp"
#include "support/session_names.hpp"
#include "scripted_transport.hpp"
#include "smtp/session.hpp"

using smtpn::crypto::Secret;
using smtpn::smtp::kMaxSaslRounds;
using smtpn::smtp::PlaintextAuth;

namespace {

// RFC 2195's example: user "tim", password "tanstaaftanstaaf".
constexpr std::string_view kPassword = smtpn::test::kRfc2195Password;
constexpr std::string_view kPasswordB64 = "dGFuc3RhYWZ0YW5zdGFhZg==";
constexpr std::string_view kUserB64 = "dGlt";
constexpr std::string_view kPlainB64 = "AHRpbQB0YW5zdGFhZnRhbnN0YWFm";  // "\0tim\0tanstaaftanstaaf"
constexpr std::string_view kCramResponse = smtpn::test::kRfc2195Response;

// An exchange over TLS (implicit) whose server offers AUTH OFFERED, as user tim.
struct AuthExchange : Exchange {
  int password_calls = 0;
  explicit AuthExchange(std::string offered = "AUTH PLAIN LOGIN CRAM-MD5", bool tls = true) {
    if (tls) {
      options.stream_type = StreamType::kImplicitTls;
      server.implicit_tls = true;
    }
    server.ehlo = {"PIPELINING", offered};
    options.user = "tim";
    options.password = [this] {
      ++password_calls;
      return Secret(kPassword);
    };
  }
  // The client lines from the first AUTH on.
  Lines auth_lines() const {
    const auto& l = transport.lines();
    auto it = std::find_if(l.begin(), l.end(), [](const std::string& s) { return s.rfind("AUTH", 0) == 0; });
    return Lines(it, l.end());
  }
  bool on_wire(std::string_view s) const { return transport.wire().find(s) != std::string::npos; }
};

Lines first_lines(Lines lines, std::size_t n) {
  lines.resize(std::min(n, lines.size()));
  return lines;
}

}  // namespace

TEST_CASE("AUTH PLAIN sends base64(\\0user\\0password) as the initial response", "[session][auth]") {
  AuthExchange x;
  const SendResult r = x.send();
  CHECK(r.mechanism == "PLAIN");
  CHECK(x.auth_lines().front() == "AUTH PLAIN " + std::string(kPlainB64));
  CHECK(x.auth_lines()[1] == "MAIL FROM:<alice@example.org>");
  CHECK(x.password_calls == 1);
}

TEST_CASE("AUTH LOGIN answers the user and password prompts", "[session][auth]") {
  AuthExchange x;
  x.options.mechanisms = {"LOGIN"};
  const SendResult r = x.send();
  CHECK(r.mechanism == "LOGIN");
  CHECK(x.auth_lines() == Lines{"AUTH LOGIN", std::string(kUserB64), std::string(kPasswordB64),
                                "MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.net>", "DATA", ".",
                                "QUIT"});
}

TEST_CASE("AUTH CRAM-MD5 answers RFC 2195's challenge with RFC 2195's response", "[session][auth]") {
  SECTION("chosen by the user over TLS") {
    AuthExchange x;
    x.options.mechanisms = {"CRAM-MD5"};
    CHECK(x.send().mechanism == "CRAM-MD5");
    CHECK(first_lines(x.auth_lines(), 2) == Lines{"AUTH CRAM-MD5", std::string(kCramResponse)});
  }
  SECTION("chosen by default in the clear where allowed, PLAIN and LOGIN left alone") {
    AuthExchange x("AUTH PLAIN LOGIN CRAM-MD5", false);
    x.transport.loopback = true;  // the default policy allows AUTH without TLS on loopback
    CHECK(x.send().mechanism == "CRAM-MD5");
    CHECK(first_lines(x.auth_lines(), 2) == Lines{"AUTH CRAM-MD5", std::string(kCramResponse)});
    CHECK_FALSE(x.on_wire(kPasswordB64));
    CHECK_FALSE(x.on_wire(kPlainB64));
  }
}

TEST_CASE("535 ends authentication: no other mechanism is tried", "[session][auth]") {
  AuthExchange x;
  x.server.on("AUTH PLAIN", {"535 5.7.8 authentication credentials invalid"});
  const auto err = x.failure_of(Kind::kAuth);
  CHECK(err->code() == 535);
  CHECK(err->enhanced_status() == "5.7.8");
  CHECK(x.auth_lines() == Lines{"AUTH PLAIN " + std::string(kPlainB64)});  // no LOGIN, no MAIL
}

TEST_CASE("a 4xx to AUTH is a temporary failure", "[session][auth]") {
  AuthExchange x;
  x.server.on("AUTH PLAIN", {"454 4.7.0 temporary authentication failure"});
  const auto err = x.failure_of(Kind::kTemporary);
  CHECK(err->code() == 454);
  CHECK(x.auth_lines().size() == 1);
}

TEST_CASE("504 moves on to the next mechanism", "[session][auth]") {
  AuthExchange x;
  x.server.on("AUTH PLAIN", {"504 5.5.4 mechanism not supported"});
  const SendResult r = x.send();
  CHECK(r.mechanism == "CRAM-MD5");
  CHECK(first_lines(x.auth_lines(), 3) ==
        Lines{"AUTH PLAIN " + std::string(kPlainB64), "AUTH CRAM-MD5", std::string(kCramResponse)});

  SECTION("the password is asked for once, not once per mechanism") { CHECK(x.password_calls == 1); }
  SECTION("and every mechanism answered 504 is an AUTH error") {
    AuthExchange y;
    y.server.on("AUTH PLAIN", {"504 5.5.4 no"}).on("AUTH CRAM-MD5", {"504 5.5.4 no"});
    y.server.on("AUTH LOGIN", {"504 5.5.4 no"});
    const auto err = y.failure_of(Kind::kAuth);
    CHECK(y.auth_lines() == Lines{"AUTH PLAIN " + std::string(kPlainB64), "AUTH CRAM-MD5", "AUTH LOGIN"});
  }
}

TEST_CASE("a challenge that is not base64 is cancelled with '*'", "[session][auth]") {
  AuthExchange x;
  x.options.mechanisms = {"CRAM-MD5"};
  x.server.on("AUTH CRAM-MD5", {"334 this is not base64!", "501 5.7.0 cancelled"});
  const auto err = x.failure_of(Kind::kAuth);
  CHECK(x.auth_lines() == Lines{"AUTH CRAM-MD5", "*"});
}

TEST_CASE("an endless run of 334 challenges is abandoned", "[session][auth]") {
  const std::string mech = GENERATE(as<std::string>{}, "PLAIN", "LOGIN", "CRAM-MD5");
  CAPTURE(mech);
  AuthExchange x;
  x.options.mechanisms = {mech};
  int rounds = 0;
  x.server.custom = [&](ScriptedTransport& t, std::string_view line) {
    if (line.rfind("AUTH", 0) != 0 && rounds == 0) return false;
    if (++rounds > 100) {
      t.hang_up();
      return true;
    }
    t.send(std::string("334 ") + smtpn::test::kRfc2195Challenge + "\r\n");
    return true;
  };
  const auto err = x.failure();
  REQUIRE(err);
  CHECK((err->kind() == Kind::kAuth || err->kind() == Kind::kProtocol));
  const Lines lines = x.auth_lines();
  CHECK(lines.back() == "*");
  CHECK(lines.size() <= static_cast<std::size_t>(kMaxSaslRounds) + 2);
  CHECK_FALSE(x.on_wire("MAIL"));
}

// A mechanism that answers every challenge, forever: no real one does (each stops after its
// own few steps), so only this reaches the session's own cap on AUTH rounds.
class EndlessMechanism final : public smtpn::sasl::Mechanism {
 public:
  explicit EndlessMechanism(int& responses) : responses_(responses) {}
  std::string_view name() const override { return "LOGIN"; }
  smtpn::Result<Secret, smtpn::sasl::SaslError> respond(std::string_view) override {
    ++responses_;
    return Secret("bW9yZQ==");  // "more"
  }

 private:
  int& responses_;
};

TEST_CASE("the SASL round cap ends a mechanism that keeps answering", "[session][auth]") {
  AuthExchange x("AUTH LOGIN");
  int responses = 0;
  const smtpn::test::MechanismOverride endless([&](std::string_view name) -> std::unique_ptr<smtpn::sasl::Mechanism> {
    if (name == "LOGIN") return std::make_unique<EndlessMechanism>(responses);
    return nullptr;
  });
  int challenges = 0;
  x.server.custom = [&](ScriptedTransport& t, std::string_view line) {
    if (line.rfind("AUTH", 0) != 0 && challenges == 0) return false;
    if (line == "*") return false;  // the cancel: the scripted server's default answer
    if (++challenges > 100) {
      t.hang_up();
      return true;
    }
    t.send("334 " + std::string(smtpn::test::kRfc2195Challenge) + "\r\n");
    return true;
  };
  const auto err = x.failure();
  REQUIRE(err);
  INFO(err->what());
  CHECK(err->kind() == Kind::kProtocol);
  CHECK(std::string(err->what()).find(std::to_string(kMaxSaslRounds) + " AUTH rounds") != std::string::npos);
  // Exactly kMaxSaslRounds answers, then the cancel: the cap, not the server, ended it.
  CHECK(responses == kMaxSaslRounds);
  Lines expected{"AUTH LOGIN"};
  for (int i = 0; i < kMaxSaslRounds; ++i) expected.emplace_back("bW9yZQ==");
  expected.emplace_back("*");
  CHECK(first_lines(x.auth_lines(), expected.size()) == expected);
  CHECK_FALSE(x.on_wire("MAIL"));
}

TEST_CASE("no usable AUTH mechanism: an error, and no mail goes out unauthenticated", "[session][auth]") {
  // Either way the refusal comes before any AUTH line, password or MAIL.
  const auto refused_before_auth = [](AuthExchange& x) {
    const auto err = x.failure_of(Kind::kAuth);
    CHECK(std::string(err->what()).find("no usable AUTH mechanism") != std::string::npos);
    CHECK_FALSE(x.on_wire("AUTH"));
    CHECK_FALSE(x.on_wire("MAIL"));
    CHECK(x.password_calls == 0);
  };
  SECTION("the server offers only mechanisms the user did not allow") {
    AuthExchange x("AUTH PLAIN LOGIN");
    x.options.mechanisms = {"CRAM-MD5", "SCRAM-SHA-256"};
    refused_before_auth(x);
  }
  SECTION("the server offers only mechanisms we do not implement") {
    AuthExchange x("AUTH GSSAPI NTLM");
    refused_before_auth(x);
  }
}

TEST_CASE("no password mechanism runs in the clear to a remote server", "[session][auth]") {
  AuthExchange x("AUTH PLAIN LOGIN CRAM-MD5 DIGEST-MD5 SCRAM-SHA-1 SCRAM-SHA-256", false);
  SECTION("default policy (loopback only), remote peer") {}
  SECTION("never, even on loopback") {
    x.options.plaintext_auth = PlaintextAuth::kNever;
    x.transport.loopback = true;
  }
  const auto err = x.failure_of(Kind::kAuth);
  CHECK(std::string(err->what()).find("PLAIN") != std::string::npos);
  CHECK(std::string(err->what()).find("CRAM-MD5") != std::string::npos);
  CHECK(std::string(err->what()).find("smtpmail-native-allow-plaintext-auth") != std::string::npos);
  CHECK_FALSE(x.on_wire("AUTH"));
  CHECK_FALSE(x.on_wire(kPasswordB64));
  CHECK_FALSE(x.on_wire(kPlainB64));
  CHECK_FALSE(x.on_wire(kPassword));
  CHECK_FALSE(x.on_wire("MAIL"));
  CHECK(x.password_calls == 0);
}

TEST_CASE("PLAIN goes in the clear only where the policy allows it", "[session][auth]") {
  AuthExchange x("AUTH PLAIN", false);
  SECTION("loopback peer, loopback policy") { x.transport.loopback = true; }
  SECTION("remote peer, always") { x.options.plaintext_auth = PlaintextAuth::kAlways; }
  CHECK(x.send().mechanism == "PLAIN");
  CHECK(x.auth_lines().front() == "AUTH PLAIN " + std::string(kPlainB64));
}

TEST_CASE("the password is asked for only when a mechanism runs", "[session][auth]") {
  SECTION("no user") {
    AuthExchange x;
    x.options.user.clear();
    x.send();
    CHECK(x.password_calls == 0);
    CHECK_FALSE(x.on_wire("AUTH"));
  }
  SECTION("a user, but the server offers no AUTH") {
    AuthExchange x("8BITMIME");
    CHECK(x.send().mechanism.empty());
    CHECK(x.password_calls == 0);
    CHECK(x.traced("offers no AUTH"));
  }
  SECTION("a user and no password provider") {
    AuthExchange x;
    x.options.password = nullptr;
    const auto err = x.failure_of(Kind::kAuth);
    CHECK_FALSE(x.on_wire("AUTH"));
  }
}

TEST_CASE("the trace never shows a credential", "[session][auth][trace]") {
  const std::string mech = GENERATE(as<std::string>{}, "PLAIN", "LOGIN", "CRAM-MD5");
  const bool fail = GENERATE(false, true);
  CAPTURE(mech, fail);
  AuthExchange x;
  x.options.mechanisms = {mech};
  if (fail && mech == "PLAIN") x.server.on("AUTH", {"535 5.7.8 no"});
  if (fail && mech == "LOGIN") x.server.on("AUTH", {"334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "535 5.7.8 no"});
  if (fail && mech == "CRAM-MD5")
    x.server.on("AUTH", {std::string("334 ") + smtpn::test::kRfc2195Challenge, "535 5.7.8 no"});
  if (fail)
    CHECK(x.failure());
  else
    x.send();

  // The secrets did go over the wire (so the check below is not vacuous)...
  if (mech == "PLAIN") CHECK(x.on_wire(kPlainB64));
  if (mech == "LOGIN") CHECK(x.on_wire(kPasswordB64));
  if (mech == "CRAM-MD5") CHECK(x.on_wire(kCramResponse));
  // ...but never into the trace.
  REQUIRE_FALSE(x.trace.empty());
  for (const auto& line : x.trace) {
    CAPTURE(line);
    CHECK(line.find(kPassword) == std::string::npos);
    CHECK(line.find(kPasswordB64) == std::string::npos);
    CHECK(line.find(kPlainB64) == std::string::npos);
    CHECK(line.find(kCramResponse) == std::string::npos);
  }
  if (mech == "PLAIN") CHECK(x.traced("C: AUTH PLAIN <redacted>"));
  if (mech == "LOGIN") CHECK(x.traced("C: <redacted>"));
  if (mech == "CRAM-MD5") CHECK(x.traced("C: <redacted>"));
}

TEST_CASE("an AUTH exchange cut off by the server is a connection error", "[session][auth]") {
  AuthExchange x;
  x.server.on("AUTH PLAIN", {hang_up()});
  const auto err = x.failure_of(Kind::kConnection);
}
