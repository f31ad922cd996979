// Session and the modern mechanisms over scripted servers: SCRAM chosen by default and run to
// the server's signature (a 235 without it, or with a wrong one, is refused and no mail goes),
// -PLUS with the transport's binding data, the y flag when -PLUS was stripped, hostile
// iteration counts cancelled with "*", OAuth tokens and their error continuation, long
// initial responses deferred, EXTERNAL's "=", and no secret in any trace.
#include <algorithm>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/session_names.hpp"
#include "support/base64_text.hpp"
#include "crypto/base64.hpp"
#include "scram_server.hpp"
#include "scripted_transport.hpp"
#include "smtp/session.hpp"

using namespace smtpn;
using test::b64;
using test::unb64;

namespace {


// How the scripted SCRAM server ends a successful proof check.
enum class Ending { kProper, k235WithoutFinal, kWrongSignature };

struct SaslExchange : Exchange {
  int password_calls = 0;
  int token_calls = 0;
  test::ScramServer scram;
  Ending ending = Ending::kProper;
  int stage = 0;
  std::string server_first;  // what the SCRAM server sent, to check it is never changed

  explicit SaslExchange(std::string offered, bool tls = true) {
    if (tls) {
      options.stream_type = StreamType::kImplicitTls;
      server.implicit_tls = true;
    }
    server.ehlo = {"PIPELINING", std::move(offered)};
    options.user = "user";
    options.password = [this] {
      ++password_calls;
      return crypto::Secret("pencil");
    };
    server.custom = [this](ScriptedTransport& t, std::string_view line) { return serve_scram(t, line); };
  }

  bool serve_scram(ScriptedTransport& t, std::string_view line) {
    auto say = [&](const std::string& reply) { t.send(reply + "\r\n"); };
    switch (stage) {
      case 0: {
        if (!line.starts_with("AUTH SCRAM-")) return false;
        scram.digest =
            line.starts_with("AUTH SCRAM-SHA-256") ? crypto::Digest::kSha256 : crypto::Digest::kSha1;
        const std::size_t space = line.find(' ', 5);
        const auto first = scram.first(unb64(line.substr(space + 1)));
        stage = first ? 1 : 3;
        if (!first)
          say("535 5.7.8 " + scram.error);
        else
          say("334 " + b64(server_first = *first));
        return true;
      }
      case 1: {
        if (line == "*") {
          stage = 3;
          say("501 5.7.0 cancelled");
          return true;
        }
        const std::string final_message = scram.final(unb64(line));
        stage = 2;
        if (!scram.authenticated) {
          stage = 3;
          say("535 5.7.8 authentication failed (" + final_message + ")");
        } else if (ending == Ending::k235WithoutFinal) {
          stage = 3;
          say("235 2.7.0 trust me");
        } else if (ending == Ending::kWrongSignature) {
          say("334 " + b64("v=" + b64(std::string(scram.digest == crypto::Digest::kSha1 ? 20 : 32, 'x'))));
        } else {
          say("334 " + b64(final_message));
        }
        return true;
      }
      case 2:
        stage = 3;
        say(line.empty() ? "235 2.7.0 authenticated" : "501 5.7.0 cancelled");
        return true;
      default: return false;
    }
  }

  Lines auth_lines() const {
    const auto& l = transport.lines();
    auto it = std::find_if(l.begin(), l.end(), [](const std::string& s) { return s.rfind("AUTH", 0) == 0; });
    return Lines(it, l.end());
  }
  bool on_wire(std::string_view s) const { return transport.wire().find(s) != std::string::npos; }
  bool trace_has(std::string_view s) const { return traced(s); }
};

}  // namespace

TEST_CASE("SCRAM-SHA-256 is chosen over PLAIN and runs to the server's signature", "[session][sasl][scram]") {
  SaslExchange x("AUTH PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1 SCRAM-SHA-256");
  const auto r = x.send();
  CHECK(r.mechanism == "SCRAM-SHA-256");
  CHECK(x.scram.authenticated);
  const Lines lines = x.auth_lines();
  REQUIRE(lines.size() >= 4);
  CHECK(unb64(lines[0].substr(19)).starts_with("n,,n=user,r="));  // no binding without it on the transport
  CHECK(unb64(lines[1]).starts_with("c=biws,r="));
  CHECK(lines[2].empty());  // the answer to the verified server-final
  CHECK(lines[3] == "MAIL FROM:<alice@example.org>");
  // Neither the first message, the proof nor anything derived from the password is traced.
  CHECK(x.trace_has("C: AUTH SCRAM-SHA-256 <redacted>"));
  for (const auto& l : lines)
    if (!l.empty() && !l.starts_with("MAIL") && !l.starts_with("RCPT") && l != "DATA" && l != "." &&
        l != "QUIT")
      CHECK_FALSE(x.trace_has(l.starts_with("AUTH ") ? l.substr(19) : l));
  CHECK(x.password_calls == 1);
}

TEST_CASE("SCRAM in the clear needs permission like PLAIN: its proof cracks offline",
          "[session][sasl][scram]") {
  SECTION("refused, no AUTH line at all") {
    SaslExchange x("AUTH PLAIN SCRAM-SHA-1", false);
    x.options.plaintext_auth = smtp::PlaintextAuth::kNever;
    const auto err = x.failure_of(Kind::kAuth);
    CHECK(std::string(err->what()).find("SCRAM-SHA-1") != std::string::npos);
    CHECK_FALSE(x.on_wire("AUTH"));
    CHECK(x.password_calls == 0);
  }
  SECTION("allowed: SCRAM goes first") {
    SaslExchange x("AUTH PLAIN SCRAM-SHA-1", false);
    x.options.plaintext_auth = smtp::PlaintextAuth::kAlways;
    CHECK(x.send().mechanism == "SCRAM-SHA-1");
    CHECK_FALSE(x.transport.tls_started());
  }
}

TEST_CASE("a 235 without the server's signature, or with a wrong one, is refused; no mail goes",
          "[session][sasl][scram][hostile]") {
  SECTION("235 straight after the client's proof") {
    SaslExchange x("AUTH SCRAM-SHA-256");
    x.ending = Ending::k235WithoutFinal;
    const auto err = x.failure_of(Kind::kAuth);
    CHECK(std::string(err->what()).find("without proving it knows the password") != std::string::npos);
    CHECK(err->code() == 235);
    CHECK_FALSE(x.on_wire("MAIL FROM"));
  }
  SECTION("a wrong v=: cancelled with *") {
    SaslExchange x("AUTH SCRAM-SHA-1");
    x.ending = Ending::kWrongSignature;
    const auto err = x.failure_of(Kind::kAuth);
    CHECK(std::string(err->what()).find("server signature is wrong") != std::string::npos);
    const Lines lines = x.auth_lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[2] == "*");
    CHECK_FALSE(x.on_wire("MAIL FROM"));
  }
}

TEST_CASE("a hostile iteration count is cancelled with * before any hashing",
          "[session][sasl][scram][hostile]") {
  const auto count = GENERATE(as<std::uint32_t>{}, 0u, 1u, 4095u, 4294967295u);
  CAPTURE(count);
  SaslExchange x("AUTH SCRAM-SHA-256");
  x.scram.iterations = count;
  const auto err = x.failure_of(Kind::kAuth);
  CHECK(std::string(err->what()).find("outside the accepted range") != std::string::npos);
  CHECK(x.auth_lines().size() == 2);
  CHECK(x.auth_lines()[1] == "*");
  CHECK(x.traced("S: 501"));  // the reply to * is read, not left on the wire
}

TEST_CASE(":scram-max-iterations lowers the ceiling", "[session][sasl][scram]") {
  SaslExchange x("AUTH SCRAM-SHA-256");
  x.scram.iterations = 5000;
  x.options.scram_max_iterations = 4096;
  const auto err = x.failure();
  REQUIRE(err);
  CHECK(std::string(err->what()).find("4096–4096") != std::string::npos);
}

TEST_CASE("SCRAM-SHA-256-PLUS binds to the transport's TLS channel", "[session][sasl][plus]") {
  const std::string data("\x10\x20 exporter bytes \x00\xff", 20);
  SaslExchange x("AUTH SCRAM-SHA-256 SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS");
  x.transport.binding = net::ChannelBindingData{"tls-exporter", data};
  x.scram.binding_type = "tls-exporter";
  x.scram.binding_data = data;
  x.scram.offers_plus = true;
  CHECK(x.send().mechanism == "SCRAM-SHA-256-PLUS");
  CHECK(x.scram.authenticated);
  CHECK(unb64(x.auth_lines()[0].substr(24)).starts_with("p=tls-exporter,,n=user,r="));
  CHECK(unb64(x.auth_lines()[1]).starts_with("c=" + b64("p=tls-exporter,," + data) + ",r="));

  SECTION("a server bound to another channel (a man in the middle) fails us") {
    SaslExchange y("AUTH SCRAM-SHA-256-PLUS");
    y.transport.binding = net::ChannelBindingData{"tls-exporter", data};
    y.scram.binding_type = "tls-exporter";
    y.scram.binding_data = "the other leg's exporter";
    const auto err = y.failure();
    REQUIRE(err);
    CHECK(err->code() == 535);
    CHECK_FALSE(y.on_wire("MAIL FROM"));
  }
}

TEST_CASE("-PLUS stripped from the list: the y flag lets a binding server catch it",
          "[session][sasl][plus]") {
  SaslExchange x("AUTH SCRAM-SHA-256");  // what a man in the middle left of "... SCRAM-SHA-256-PLUS"
  x.transport.binding = net::ChannelBindingData{"tls-exporter", "data"};
  x.scram.offers_plus = true;  // the real server does support it
  const auto err = x.failure();
  REQUIRE(err);
  CHECK(unb64(x.auth_lines()[0].substr(19)).starts_with("y,,"));
  CHECK(x.scram.error == "server-does-support-channel-binding");
  CHECK_FALSE(x.on_wire("MAIL FROM"));
}

TEST_CASE("no -PLUS without binding data, even when offered", "[session][sasl][plus]") {
  SaslExchange x("AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-1");
  CHECK(x.send().mechanism == "SCRAM-SHA-1");
  CHECK(unb64(x.auth_lines()[0].substr(17)).starts_with("n,,"));
}

TEST_CASE("credentials SASLprep prohibits never reach the wire", "[session][sasl][saslprep]") {
  SaslExchange x("AUTH SCRAM-SHA-256");
  x.options.user = "us\ter";
  const auto err = x.failure_of(Kind::kAuth);
  CHECK(std::string(err->what()).find("control character") != std::string::npos);
  CHECK_FALSE(x.on_wire("AUTH"));
}

TEST_CASE("the session SASLpreps the user name and password before any mechanism sees them",
          "[session][sasl][saslprep]") {
  SaslExchange x("AUTH SCRAM-SHA-256");
  x.options.user = "\xE2\x85\xB8";  // U+2178 SMALL ROMAN NUMERAL NINE: NFKC "ix"
  x.scram.user = "ix";
  x.options.password = [&x] {
    ++x.password_calls;
    return crypto::Secret("pen\xC2\xAD" "cil");  // a soft hyphen, mapped to nothing
  };
  // The scripted server knows "ix" and checks the proof against "pencil": only the prepared
  // credentials pass.
  CHECK(x.send().mechanism == "SCRAM-SHA-256");
  CHECK(unb64(x.auth_lines()[0].substr(19)).starts_with("n,,n=ix,"));
  CHECK(x.password_calls == 1);
}

TEST_CASE("a password SASLprep refuses stops before AUTH, for every password mechanism",
          "[session][sasl][saslprep]") {
  for (const char* offer : {"AUTH PLAIN", "AUTH LOGIN", "AUTH CRAM-MD5", "AUTH SCRAM-SHA-1"}) {
    INFO(offer);
    SaslExchange x(offer);
    x.options.password = [] { return crypto::Secret("\xD8\xA7" "1"); };  // breaks the bidi rule
    const auto err = x.failure_of(Kind::kAuth);
    CHECK(std::string(err->what()).find("right-to-left") != std::string::npos);
    CHECK_FALSE(x.on_wire("AUTH"));
  }
}

namespace {

constexpr std::string_view kToken = "ya29.secret-token-value";

struct OAuthExchange : SaslExchange {
  explicit OAuthExchange(std::string offered) : SaslExchange(std::move(offered)) {
    options.oauth_token = [this] {
      ++token_calls;
      return crypto::Secret(kToken);
    };
  }
};

}  // namespace

TEST_CASE("a token source puts XOAUTH2 first; the token is never traced", "[session][sasl][oauth]") {
  OAuthExchange x("AUTH PLAIN SCRAM-SHA-256 XOAUTH2");
  x.server.on("AUTH XOAUTH2 ", {"235 2.7.0 accepted"});
  CHECK(x.send().mechanism == "XOAUTH2");
  CHECK(unb64(x.auth_lines()[0].substr(13)) ==
        "user=user\x01"
        "auth=Bearer " +
            std::string(kToken) + "\x01\x01");
  CHECK(x.token_calls == 1);
  CHECK(x.password_calls == 0);
  CHECK(x.trace_has("C: AUTH XOAUTH2 <redacted>"));
  CHECK_FALSE(x.trace_has(x.auth_lines()[0].substr(13)));
}

TEST_CASE("the OAuth error continuation: answered, final failure read, status reported",
          "[session][sasl][oauth]") {
  const std::string json = R"({"status":"invalid_token","schemes":"bearer","scope":"mail"})";
  SECTION("XOAUTH2 answers with an empty line") {
    OAuthExchange x("AUTH XOAUTH2");
    x.server.on("AUTH XOAUTH2 ", {"334 " + b64(json), "535 5.7.8 Username and Password not accepted"});
    const auto err = x.failure_of(Kind::kAuth);
    CHECK(err->code() == 535);
    CHECK(std::string(err->what()).find("OAuth status invalid_token") != std::string::npos);
    CHECK(x.auth_lines()[1].empty());
    CHECK(x.auth_lines().size() == 2);
  }
  SECTION("OAUTHBEARER answers with ^A") {
    OAuthExchange x("AUTH OAUTHBEARER");
    x.options.port = "587";
    x.server.on("AUTH OAUTHBEARER ", {"334 " + b64(json), "535 5.7.8 refused"});
    const auto err = x.failure();
    REQUIRE(err);
    CHECK(std::string(err->what()).find("OAuth status invalid_token") != std::string::npos);
    CHECK(x.auth_lines()[1] == "AQ==");
    CHECK(unb64(x.auth_lines()[0].substr(17)).starts_with("n,a=user,\x01host=mx.test\x01port=587\x01"));
  }
}

TEST_CASE("an initial response too long for the AUTH line waits for the empty 334",
          "[session][sasl][oauth]") {
  SaslExchange x("AUTH XOAUTH2");
  const std::string token(600, 't');
  x.options.mechanisms = {"XOAUTH2"};
  x.options.password = [&] { return crypto::Secret(token); };  // the password slot holds the token
  x.server.on("AUTH XOAUTH2", {"334 ", "235 2.7.0 accepted"});
  CHECK(x.send().mechanism == "XOAUTH2");
  CHECK(x.auth_lines()[0] == "AUTH XOAUTH2");
  CHECK(unb64(x.auth_lines()[1]).find(token) != std::string::npos);
  CHECK_FALSE(x.trace_has(x.auth_lines()[1]));

  SECTION("a server that challenges instead of the empty 334 is cancelled") {
    SaslExchange y("AUTH XOAUTH2");
    y.options.mechanisms = {"XOAUTH2"};
    y.options.password = [&] { return crypto::Secret(token); };
    y.server.on("AUTH XOAUTH2", {"334 " + b64("give me"), "501 5.7.0 cancelled"});
    const auto err = y.failure();
    REQUIRE(err);
    CHECK(y.auth_lines() == Lines{"AUTH XOAUTH2", "*"});
  }
}

TEST_CASE("EXTERNAL with a client certificate sends the empty initial response",
          "[session][sasl][external]") {
  SaslExchange x("AUTH PLAIN EXTERNAL");
  x.options.tls.client_cert_file = "/nonexistent/client.pem";  // the scripted TLS does not read it
  x.server.on("AUTH EXTERNAL =", {"235 2.7.0 certificate accepted"});
  CHECK(x.send().mechanism == "EXTERNAL");
  CHECK(x.auth_lines()[0] == "AUTH EXTERNAL =");
  CHECK(x.password_calls == 0);
  // Without the certificate, EXTERNAL is not even considered.
  SaslExchange y("AUTH PLAIN EXTERNAL");
  CHECK(y.send().mechanism == "PLAIN");
}

TEST_CASE("DIGEST-MD5 runs to the rspauth, and a 235 without it is refused", "[session][sasl][digest]") {
  const std::string challenge =
      R"(realm="mx.test",nonce="n0nce",qop="auth",algorithm=md5-sess,charset=utf-8)";
  SaslExchange x("AUTH DIGEST-MD5");
  x.server.on("AUTH DIGEST-MD5", {"334 " + b64(challenge), "235 2.7.0 no rspauth from me"});
  const auto err = x.failure();
  REQUIRE(err);
  CHECK(std::string(err->what()).find("no rspauth") != std::string::npos);
  CHECK_FALSE(x.on_wire("MAIL FROM"));
  const std::string response = unb64(x.auth_lines()[1]);
  CHECK(response.find("digest-uri=\"smtp/mx.test\"") != std::string::npos);
  CHECK(response.find("pencil") == std::string::npos);
}
