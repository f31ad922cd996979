// STARTTLS and TLS under attack: response injection before the handshake, capabilities that
// change across it, a STARTTLS that is missing or refused when required, certificates the
// client must refuse, and implicit TLS that must speak TLS before anything else.
#include <chrono>
#include <future>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_sasl.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;

namespace {

// The server's script after STARTTLS: a TLS session that would accept anything, so that a
// client that went on would show it in the recorded bytes.
void serve_inside_tls(Connection& c) {
  answer_ehlo(c, {"PIPELINING", "AUTH PLAIN LOGIN"});
  while (auto line = c.read_line()) c.reply(line->rfind("AUTH", 0) == 0 ? "235 2.7.0 ok" : "250 ok");
}

// The client stopped at STARTTLS with an error of KIND that says SAYS: EHLO and STARTTLS in
// the clear, no TLS session, nothing after.
void check_stopped_at_starttls(const SentAndSeen& sent, Kind kind, std::string_view says) {
  REQUIRE(sent.out.error);
  INFO(sent.out.error_text());
  CHECK(sent.out.error->kind() == kind);
  CHECK(contains(sent.out.error_text(), says));
  CHECK(sent.rec.before_tls == "EHLO client.test\r\nSTARTTLS\r\n");
  CHECK_FALSE(sent.rec.tls_established);
  CHECK(sent.rec.after_tls.empty());
}

// A server whose EHLO offers BEFORE in the clear and AFTER inside TLS. It expects the client
// to authenticate inside TLS with MECHANISM ("PLAIN" or "LOGIN"; "" for not at all), accepts
// that, then the mail.
Script caps_across_tls(std::vector<std::string> before, std::vector<std::string> after,
                       std::string mechanism) {
  return [before, after, mechanism](Connection& c) {
    if (!open_starttls(c, before)) return;
    answer_ehlo(c, after);
    if (mechanism == "PLAIN") {
      c.expect("AUTH PLAIN ");
    } else if (mechanism == "LOGIN") {
      c.expect("AUTH LOGIN");
      c.reply("334 VXNlcm5hbWU6");  // "Username:"
      c.expect("");
      c.reply("334 UGFzc3dvcmQ6");  // "Password:"
      c.expect("");
    }
    if (!mechanism.empty()) c.reply("235 2.7.0 ok");
    serve_transaction(c);
  };
}

}  // namespace

TEST_CASE("STARTTLS injection in one segment: the session aborts before the handshake",
          "[hostile][starttls]") {
  HostileServer server([](Connection& c) {
    greet(c);
    answer_ehlo(c, {"STARTTLS", "AUTH PLAIN"});
    c.expect("STARTTLS");
    c.send("220 2.0.0 go ahead\r\n250 injected\r\n");
    if (c.start_tls(Cert::kTrusted)) serve_inside_tls(c);
  });
  const SentAndSeen sent = send_to(server, hostile_auth_options(server.port()));

  check_stopped_at_starttls(sent, Kind::kProtocol, "response injection");
  CHECK_FALSE(sent.out.traced("injected"));
}

TEST_CASE("STARTTLS injection byte by byte, waiting before the client reads: it aborts",
          "[hostile][starttls]") {
  // The 220 and the injected reply go out one byte per segment, and all of them before the
  // client asks for STARTTLS (the client waits for that at the start of its STARTTLS step), so
  // they are on the client's side of the socket when it reads the 220. Only the client's check
  // for bytes after the 220 stands between them and the handshake: OpenSSL never sees them.
  std::promise<void> injected;
  std::shared_future<void> all_sent = injected.get_future().share();
  HostileServer server([&injected](Connection& c) {
    greet(c);
    answer_ehlo(c, {"STARTTLS", "AUTH PLAIN"});
    c.send_bytewise("220 2.0.0 go ahead\r\n250 injected\r\n");
    injected.set_value();
    c.expect("STARTTLS");
    if (c.start_tls(Cert::kTrusted)) serve_inside_tls(c);
  });
  smtp::SessionOptions options = hostile_auth_options(server.port());
  bool waited = false;
  options.progress = [&](smtp::Phase phase, std::size_t, std::size_t) {
    if (phase == smtp::Phase::kStartTls)
      waited = all_sent.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  };
  const SentAndSeen sent = send_to(server, options);

  REQUIRE(waited);
  check_stopped_at_starttls(sent, Kind::kProtocol, "response injection");
  CHECK_FALSE(sent.out.traced("injected"));
}

TEST_CASE("capabilities after TLS replace those before it", "[hostile][starttls]") {
  SECTION("AUTH offered only after TLS is used") {
    HostileServer server(caps_across_tls({"PIPELINING"}, {"PIPELINING", "AUTH PLAIN"}, "PLAIN"));
    const auto [out, rec] = deliver_to(server, hostile_auth_options(server.port()));
    CHECK(out.result->mechanism == "PLAIN");
    CHECK(rec.before_tls == "EHLO client.test\r\nSTARTTLS\r\n");
    CHECK(contains(rec.after_tls, "AUTH PLAIN "));
  }
  SECTION("a pre-TLS AUTH list is ignored when the post-TLS EHLO has none") {
    HostileServer server(caps_across_tls({"AUTH PLAIN LOGIN CRAM-MD5"}, {"PIPELINING"}, ""));
    const auto [out, rec] = deliver_to(server, hostile_auth_options(server.port()));
    CHECK(out.result->mechanism.empty());
    CHECK_FALSE(contains(rec.before_tls, "AUTH"));
    CHECK_FALSE(contains(rec.after_tls, "AUTH"));
    CHECK(out.traced("offers no AUTH"));
  }
  SECTION("a pre-TLS mechanism absent after TLS is not used") {
    HostileServer server(caps_across_tls({"AUTH CRAM-MD5"}, {"PIPELINING", "AUTH LOGIN"}, "LOGIN"));
    const auto [out, rec] = deliver_to(server, hostile_auth_options(server.port()));
    CHECK(out.result->mechanism == "LOGIN");
    CHECK_FALSE(contains(rec.after_tls, "CRAM-MD5"));
  }
}

TEST_CASE("STARTTLS required but not available: nothing else is said in the clear", "[hostile][starttls]") {
  SECTION("not advertised") {
    HostileServer server([](Connection& c) {
      greet(c);
      answer_ehlo(c, {"PIPELINING", "AUTH PLAIN LOGIN"});
      while (auto line = c.read_line()) c.reply("250 ok");
    });
    const auto [out, rec] = send_to(server, hostile_auth_options(server.port()));
    REQUIRE(out.error);
    CHECK(out.error->kind() == Kind::kTls);
    CHECK(contains(out.error_text(), "does not offer STARTTLS"));
    CHECK(rec.before_tls == "EHLO client.test\r\n");
  }
  for (const char* refusal : {"454 4.7.0 TLS not available", "502 5.5.1 not implemented", "354 go on"}) {
    DYNAMIC_SECTION("answered " << refusal) {
      HostileServer server([refusal](Connection& c) {
        greet(c);
        answer_ehlo(c, {"PIPELINING", "STARTTLS", "AUTH PLAIN LOGIN"});
        c.expect("STARTTLS");
        c.reply(refusal);
        while (auto line = c.read_line()) c.reply("250 ok");
      });
      const auto [out, rec] = send_to(server, hostile_auth_options(server.port()));
      REQUIRE(out.error);
      CHECK(out.error->kind() == Kind::kTls);
      CHECK(out.error->code() == std::stoi(std::string(refusal).substr(0, 3)));
      CHECK(contains(out.error_text(), "refused STARTTLS"));
      CHECK(rec.before_tls == "EHLO client.test\r\nSTARTTLS\r\n");
      CHECK_FALSE(rec.tls_established);
    }
  }
}

TEST_CASE("certificates the client must refuse: nothing is sent after the handshake",
          "[hostile][starttls][cert]") {
  for (const Cert cert : {Cert::kSelfSigned, Cert::kWrongHost, Cert::kExpired}) {
    DYNAMIC_SECTION("certificate: " << cert_name(cert)) {
      HostileServer server([cert](Connection& c) {
        if (open_starttls(c, {"PIPELINING", "AUTH PLAIN"}, cert)) serve_inside_tls(c);
      });
      check_stopped_at_starttls(send_to(server, hostile_auth_options(server.port())), Kind::kTls,
                                "certificate");
    }
  }
  SECTION("the same refusals name the reason") {
    // The messages a user reads decide whether they can tell a MITM from an expired cert.
    const std::pair<Cert, const char*> cases[] = {
        {Cert::kSelfSigned, "self-signed"}, {Cert::kWrongHost, "mismatch"}, {Cert::kExpired, "expired"}};
    for (const auto& [cert, reason] : cases) {
      HostileServer server([cert = cert](Connection& c) { open_starttls(c, {}, cert); });
      const Outcome out = run_send(hostile_options(server.port()));
      server.finish();
      REQUIRE(out.error);
      INFO(cert_name(cert) << ": " << out.error_text());
      CHECK(contains(out.error_text(), reason));
    }
  }
}

TEST_CASE("implicit TLS: the client's first bytes are a TLS ClientHello", "[hostile][tls]") {
  SECTION("the handshake comes before any greeting") {
    HostileServer server([](Connection& c) {
      // The server says nothing until the client has started TLS.
      if (!c.start_tls(Cert::kTrusted)) return;
      greet(c);
      answer_ehlo(c, {"PIPELINING", "AUTH PLAIN"});
      c.expect("AUTH PLAIN ");
      c.reply("235 2.7.0 ok");
      serve_transaction(c);
    });
    smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kImplicitTls);
    const auto [out, rec] = deliver_to(server, options);
    CHECK(rec.before_tls.empty());
    REQUIRE(rec.handshake_bytes.size() >= 5);
    CHECK(rec.handshake_bytes[0] == '\x16');  // handshake record
    CHECK(rec.handshake_bytes[1] == '\x03');  // TLS major version
    CHECK(rec.handshake_bytes[5] == '\x01');  // ClientHello
    CHECK(rec.after_tls.rfind("EHLO client.test\r\n", 0) == 0);
  }
  SECTION("a plaintext server gets only the ClientHello, never SMTP") {
    HostileServer server([](Connection& c) {
      greet(c);
      answer_ehlo(c, {"AUTH PLAIN"});  // the client never sends EHLO in the clear
    });
    smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kImplicitTls);
    const auto [out, rec] = send_to(server, options);
    REQUIRE(out.error);
    CHECK(out.error->kind() == Kind::kTls);
    REQUIRE(rec.before_tls.size() >= 2);
    CHECK(rec.before_tls.substr(0, 2) == std::string("\x16\x03", 2));
    CHECK_FALSE(contains(rec.before_tls, "EHLO"));
    CHECK_FALSE(contains(rec.before_tls, "AUTH"));
  }
}

TEST_CASE("STARTTLS stripped in opportunistic mode: the password still stays home", "[hostile][starttls]") {
  for (const bool refused : {false, true}) {
    DYNAMIC_SECTION((refused ? "STARTTLS answered 454" : "STARTTLS removed from EHLO")) {
      HostileServer server([refused](Connection& c) {
        greet(c);
        std::vector<std::string> caps = {"PIPELINING", "AUTH PLAIN LOGIN"};
        if (refused) caps.emplace_back("STARTTLS");
        answer_ehlo(c, caps);
        if (refused) {
          c.expect("STARTTLS");
          c.reply("454 4.7.0 TLS not available");
        }
        while (auto line = c.read_line()) c.reply(line->rfind("AUTH", 0) == 0 ? "334 " : "250 ok");
      });
      smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kOpportunistic);
      options.plaintext_auth = smtp::PlaintextAuth::kNever;  // as for a non-loopback server
      const auto [out, rec] = send_to(server, options);
      REQUIRE(out.error);
      INFO(out.error_text());
      CHECK(out.error->kind() == Kind::kAuth);
      CHECK(rec.before_tls == (refused ? "EHLO client.test\r\nSTARTTLS\r\n" : "EHLO client.test\r\n"));
      CHECK_FALSE(contains(rec.before_tls, kPassword));
    }
  }
}

TEST_CASE("STARTTLS stripped to a remote server: no CRAM-MD5, DIGEST-MD5 or SCRAM response leaves",
          "[hostile][starttls][auth]") {
  // A man in the middle removes STARTTLS from EHLO and offers every challenge-response
  // mechanism, ready to challenge: a captured response would crack offline (with SCRAM even
  // under a salt and iteration count the attacker chose).
  const std::string offer = "AUTH CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256 SCRAM-SHA-1 PLAIN LOGIN";
  auto mitm = [&offer](Connection& c) {
    greet(c);
    answer_ehlo(c, {"PIPELINING", offer});
    while (auto line = c.read_line()) {
      if (line->rfind("AUTH CRAM-MD5", 0) == 0)
        c.reply("334 " + b64("<1896.697170952@mitm.test>"));
      else if (line->rfind("AUTH DIGEST-MD5", 0) == 0)
        c.reply("334 " + b64("realm=\"mitm.test\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",algorithm=md5-sess"));
      else if (line->rfind("AUTH", 0) == 0 || line->empty())
        c.reply("535 5.7.8 no");  // ends the exchange after the client's first message
      else
        c.reply(*line == "QUIT" ? "221 bye" : "250 ok");
    }
  };
  SECTION("default policy, opportunistic: refused before any AUTH, naming the setting") {
    HostileServer server(mitm);
    smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kOpportunistic);
    const auto [out, rec] = send_as_remote_to(server, options);
    REQUIRE(out.error);
    INFO(out.error_text());
    CHECK(out.error->kind() == Kind::kAuth);
    CHECK(contains(out.error_text(), "smtpmail-native-allow-plaintext-auth"));
    CHECK(rec.before_tls == "EHLO client.test\r\n");  // no AUTH, no response, no MAIL
    CHECK_FALSE(out.traced("C: AUTH"));
  }
  // The controls: the scenario sees a response when one is sent.
  SECTION("the user allowed it for this server: SCRAM runs in the clear") {
    HostileServer server(mitm);
    smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kOpportunistic);
    options.plaintext_auth = smtp::PlaintextAuth::kAlways;
    const auto [out, rec] = send_as_remote_to(server, options);
    REQUIRE(out.error);
    CHECK(contains(rec.before_tls, "AUTH SCRAM-SHA-256 "));
  }
  SECTION("a loopback server keeps its exemption") {
    HostileServer server(mitm);
    smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kOpportunistic);
    options.mechanisms = {"CRAM-MD5"};
    const auto [out, rec] = send_to(server, options);
    REQUIRE(out.error);
    CHECK(contains(rec.before_tls, "AUTH CRAM-MD5\r\n"));
    CHECK(rec.lines.size() >= 3);  // EHLO, AUTH, the response
  }
}
