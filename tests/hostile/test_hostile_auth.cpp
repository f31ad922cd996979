// AUTH against a hostile server: secrets refused on a cleartext channel in every encoding,
// CRAM-MD5 proven against RFC 2195, malformed, oversized and endless challenges, no downgrade
// after 535, SCRAM servers that ask for absurd iteration counts or never prove themselves, and
// OAuth error continuations.
#include <string>
#include <vector>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_sasl.hpp"
#include "hostile_server.hpp"
#include "scram_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;

namespace {

constexpr const char* kToken = "ya29.hostile-bearer-token";

// Everything that would reveal kPassword or kToken, in every encoding a mechanism uses.
std::vector<std::string> secret_forms() {
  const std::string user = kUser, pass = kPassword, token = kToken;
  return {pass,
          b64(pass),
          b64(std::string("\0", 1) + user + std::string("\0", 1) + pass),      // PLAIN
          b64("user=" + user + "\x01" + "auth=Bearer " + token + "\x01\x01"),  // XOAUTH2
          token,
          b64(token),
          b64(pass).substr(0, 12),  // any long enough piece of it
          b64(token).substr(0, 16)};
}

// Counts the client lines that start with PREFIX.
std::size_t count_lines(const Record& rec, std::string_view prefix) {
  std::size_t n = 0;
  for (const auto& line : rec.lines) n += line.compare(0, prefix.size(), prefix) == 0;
  return n;
}

// The AUTH line's initial response, decoded.
std::string initial_response(const std::string& auth_line) {
  const std::size_t space = auth_line.find(' ', 5);
  return space == std::string::npos ? std::string() : unb64(auth_line.substr(space + 1));
}

// STARTTLS, then EHLO offering AUTH MECHS inside TLS.
bool open_auth(Connection& c, const std::string& mechs) {
  if (!open_starttls(c, {"PIPELINING"})) return false;
  answer_ehlo(c, {"PIPELINING", "AUTH " + mechs});
  return true;
}

// After the exchange: 250 to whatever comes (a client that went on would show it).
void accept_rest(Connection& c) {
  while (auto line = c.read_line()) c.reply(*line == "QUIT" ? "221 bye" : "250 ok");
}

}  // namespace

TEST_CASE("no TLS and plaintext AUTH forbidden: no credential leaves in any encoding", "[hostile][auth]") {
  const std::vector<std::string> offers = {"PLAIN", "LOGIN", "XOAUTH2", "PLAIN LOGIN XOAUTH2"};
  for (const auto& offer : offers) {
    for (const bool with_token : {false, true}) {
      DYNAMIC_SECTION("server offers " << offer << (with_token ? ", token configured" : "")) {
        HostileServer server([&offer](Connection& c) {
          greet(c);
          answer_ehlo(c, {"PIPELINING", "AUTH " + offer});
          // A server that would take anything: a client that sent credentials would go on.
          while (auto line = c.read_line())
            c.reply(line->rfind("AUTH", 0) == 0 ? "334 " : line->empty() ? "235 ok" : "250 ok");
        });
        smtp::SessionOptions options = hostile_auth_options(server.port(), smtp::StreamType::kPlain);
        options.plaintext_auth = smtp::PlaintextAuth::kNever;  // as for a non-loopback server
        options.mechanisms = {"PLAIN", "LOGIN", "XOAUTH2"};
        if (with_token) options.oauth_token = [] { return crypto::Secret(kToken); };
        const auto [out, rec] = send_to(server, options);
        REQUIRE(out.error);
        CHECK(out.error->kind() == Kind::kAuth);
        CHECK(contains(out.error_text(), "without TLS"));
        CHECK(rec.before_tls == "EHLO client.test\r\n");
        for (const auto& form : secret_forms()) {
          INFO(form);
          CHECK_FALSE(contains(rec.before_tls, form));
        }
      }
    }
  }
}

TEST_CASE("CRAM-MD5 answers as RFC 2195 computes it", "[hostile][auth][cram]") {
  SECTION("a fresh challenge, checked with OpenSSL's HMAC-MD5") {
    const std::string challenge = "<4711.1700000000@hostile.test>";
    std::string answer;
    HostileServer server([&](Connection& c) {
      if (!open_auth(c, "CRAM-MD5")) return;
      c.expect("AUTH CRAM-MD5");
      c.reply("334 " + b64(challenge));
      answer = unb64(c.expect(""));
      c.reply(answer == cram_md5_answer(kUser, kPassword, challenge) ? "235 2.7.0 ok" : "535 5.7.8 wrong");
      serve_transaction(c);
    });
    const auto [out, rec] = send_to(server, hostile_auth_options(server.port()));
    INFO(out.error_text() << rec.script_error);
    CHECK(answer == cram_md5_answer(kUser, kPassword, challenge));
    REQUIRE(out.result);
    CHECK(out.result->mechanism == "CRAM-MD5");
  }
  SECTION("the RFC's own example") {
    std::string answer;
    HostileServer server([&](Connection& c) {
      if (!open_auth(c, "CRAM-MD5")) return;
      c.expect("AUTH CRAM-MD5");
      c.reply("334 PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
      answer = c.expect("");
      c.reply("235 2.7.0 ok");
      serve_transaction(c);
    });
    smtp::SessionOptions options = hostile_options(server.port());
    options.user = "tim";
    options.password = [] { return crypto::Secret("tanstaaftanstaaf"); };
    const Outcome out = run_send(options);
    server.finish();
    INFO(out.error_text());
    CHECK(answer == "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    CHECK(out.result);
  }
}

TEST_CASE("malformed and oversized 334 challenges end the exchange cleanly", "[hostile][auth]") {
  struct Case {
    const char* name;
    std::string challenge;
    Kind kind;
    std::size_t max_line = smtp::ReplyLimits{}.max_line;
  };
  const Case cases[] = {
      {"not base64", "334 !!not*base64!!", Kind::kAuth},
      // With the default line limit the reply reader stops this first; a raised limit
      // (:max-reply-line) leaves it to the mechanism's own bound.
      {"over the CRAM-MD5 challenge limit", "334 " + std::string(8000, 'A'), Kind::kAuth, 16384},
      {"over the reply line limit", "334 " + std::string(100000, 'A'), Kind::kProtocol},
  };
  for (const auto& cs : cases) {
    DYNAMIC_SECTION(cs.name) {
      HostileServer server([&cs](Connection& c) {
        if (!open_auth(c, "CRAM-MD5")) return;
        c.expect("AUTH CRAM-MD5");
        c.reply(cs.challenge);
        if (auto line = c.read_line()) c.reply(*line == "*" ? "501 5.0.0 cancelled" : "235 2.7.0 ok");
        accept_rest(c);
      });
      smtp::SessionOptions options = hostile_auth_options(server.port());
      options.limits.max_line = cs.max_line;
      const auto [out, rec] = send_to(server, options);
      REQUIRE(out.error);
      INFO(out.error_text());
      CHECK(out.error->kind() == cs.kind);
      CHECK(out.seconds < 1.0);
      CHECK(count_lines(rec, "AUTH ") == 1);
      CHECK(count_lines(rec, "MAIL") == 0);
      if (cs.kind == Kind::kAuth) CHECK(rec.lines.back() == "*");  // the exchange was cancelled
    }
  }
}

TEST_CASE("an endless run of 334 challenges is cut off", "[hostile][auth]") {
  for (const char* mech : {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256", "XOAUTH2"}) {
    DYNAMIC_SECTION(mech) {
      HostileServer server([mech](Connection& c) {
        if (!open_auth(c, mech)) return;
        c.expect("AUTH ");
        for (int i = 0; i < 100; ++i) {
          c.reply("334 " + b64("<" + std::to_string(i) + ".more@hostile.test>"));
          if (!c.read_line()) return;
        }
      });
      smtp::SessionOptions options = hostile_auth_options(server.port());
      if (std::string(mech) == "XOAUTH2") options.oauth_token = [] { return crypto::Secret(kToken); };
      const auto [out, rec] = send_to(server, options);
      REQUIRE(out.error);
      INFO(out.error_text());
      CHECK((out.error->kind() == Kind::kAuth || out.error->kind() == Kind::kProtocol));
      CHECK(out.seconds < 1.0);
      CHECK(rec.lines.size() <= 2 + 1 + static_cast<std::size_t>(smtp::kMaxSaslRounds) + 1);
      CHECK(rec.lines.back() == "*");
    }
  }
}

TEST_CASE("535 is final: no retry with a weaker mechanism", "[hostile][auth]") {
  HostileServer server([](Connection& c) {
    if (!open_auth(c, "SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN DIGEST-MD5")) return;
    c.expect("AUTH ");
    c.reply("535 5.7.8 authentication credentials invalid");
    while (auto line = c.read_line()) c.reply(line->rfind("AUTH", 0) == 0 ? "235 ok" : "250 ok");
  });
  const auto [out, rec] = send_to(server, hostile_auth_options(server.port()));
  REQUIRE(out.error);
  CHECK(out.error->kind() == Kind::kAuth);
  CHECK(out.error->code() == 535);
  CHECK(count_lines(rec, "AUTH ") == 1);
  CHECK(count_lines(rec, "AUTH SCRAM-SHA-256") == 1);
  CHECK(count_lines(rec, "MAIL") == 0);
}

TEST_CASE("SCRAM iteration counts out of bounds are refused at once", "[hostile][auth][scram]") {
  const std::vector<std::string> counts = {"i=0", "i=1", "i=4095", "i=4294967295", "i=abc", "i=", ""};
  for (const auto& count : counts) {
    DYNAMIC_SECTION("server-first " << (count.empty() ? "without i=" : count)) {
      HostileServer server([&count](Connection& c) {
        if (!open_auth(c, "SCRAM-SHA-256")) return;
        const std::string first = initial_response(c.expect("AUTH SCRAM-SHA-256 "));
        const std::string nonce = first.substr(first.find(",r=") + 3);
        std::string server_first = "r=" + nonce + "srvNONCE,s=" + b64("NaCl-salt-16byte");
        if (!count.empty()) server_first += "," + count;
        c.reply("334 " + b64(server_first));
        if (auto line = c.read_line()) c.reply(*line == "*" ? "501 5.0.0 cancelled" : "235 2.7.0 ok");
        accept_rest(c);
      });
      const auto [out, rec] = send_to(server, hostile_auth_options(server.port()));
      REQUIRE(out.error);
      INFO(out.error_text());
      CHECK(out.error->kind() == Kind::kAuth);
      CHECK(out.seconds < 0.5);  // no PBKDF2 with 2^32-1 rounds
      CHECK(rec.lines.back() == "*");
      CHECK(count_lines(rec, "MAIL") == 0);
    }
  }
}

TEST_CASE("a SCRAM server that does not prove it knows the password is refused", "[hostile][auth][scram]") {
  for (const bool send_wrong_signature : {true, false}) {
    DYNAMIC_SECTION((send_wrong_signature ? "wrong v= then 235" : "no server-final, just 235")) {
      bool proof_ok = false;
      HostileServer server([&](Connection& c) {
        if (!open_auth(c, "SCRAM-SHA-256")) return;
        test::ScramServer scram;
        scram.user = kUser;
        scram.password = kPassword;
        auto first = scram.first(initial_response(c.expect("AUTH SCRAM-SHA-256 ")));
        if (!first) return;
        c.reply("334 " + b64(*first));
        const std::string final = scram.final(unb64(c.expect("")));
        proof_ok = scram.authenticated;
        if (send_wrong_signature) {
          c.reply("334 " + b64("v=" + b64(std::string(32, '\x5a'))));
          c.read_line();
        }
        c.reply("235 2.7.0 ok");
        accept_rest(c);
      });
      const auto [out, rec] = send_to(server, hostile_auth_options(server.port()));
      CHECK(proof_ok);  // the client's own proof was right: only the server is at fault
      REQUIRE(out.error);
      INFO(out.error_text());
      CHECK(out.error->kind() == Kind::kAuth);
      CHECK(count_lines(rec, "MAIL") == 0);
    }
  }
}

TEST_CASE("an OAuth error continuation is answered, and its status reported", "[hostile][auth][oauth]") {
  const std::string json = R"({"status":"invalid_token","schemes":"bearer","scope":"https://mail.example/"})";
  for (const auto& [mech, reply] : {std::pair{"XOAUTH2", ""}, std::pair{"OAUTHBEARER", "AQ=="}}) {
    DYNAMIC_SECTION(mech) {
      std::string answered;
      HostileServer server([&, mech = mech](Connection& c) {
        if (!open_auth(c, mech)) return;
        c.expect(std::string("AUTH ") + mech + " ");
        c.reply("334 " + b64(json));
        answered = c.expect("");
        c.reply("535 5.7.8 Username and Password not accepted");
        accept_rest(c);
      });
      smtp::SessionOptions options = hostile_auth_options(server.port());
      options.oauth_token = [] { return crypto::Secret(kToken); };
      const auto [out, rec] = send_to(server, options);
      CHECK(answered == reply);
      REQUIRE(out.error);
      INFO(out.error_text());
      CHECK(out.error->kind() == Kind::kAuth);
      CHECK(out.error->code() == 535);
      CHECK(contains(out.error_text(), "invalid_token"));
      CHECK(count_lines(rec, "AUTH ") == 1);
      CHECK(count_lines(rec, "MAIL") == 0);
    }
  }
}

TEST_CASE("a server offering only mechanisms the user did not allow gets no AUTH and no mail",
          "[hostile][auth]") {
  HostileServer server([](Connection& c) {
    if (!open_auth(c, "PLAIN LOGIN")) return;
    accept_rest(c);  // would take an unauthenticated MAIL FROM
  });
  smtp::SessionOptions options = hostile_auth_options(server.port());
  options.mechanisms = {"SCRAM-SHA-256", "CRAM-MD5"};
  const auto [out, rec] = send_to(server, options);
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kAuth);
  CHECK(contains(out.error_text(), "no usable AUTH mechanism"));
  CHECK(rec.tls_established);
  CHECK_FALSE(contains(rec.after_tls, "AUTH"));
  CHECK_FALSE(contains(rec.after_tls, "MAIL FROM"));
}
