// Session and TLS: STARTTLS with capabilities replaced by the post-TLS EHLO, the response-
// injection defence, what each stream type does when STARTTLS is missing or refused, implicit
// TLS before the greeting, and handshake failures.
#include <string>
#include <utility>
#include <vector>

#include "catch.hpp"
#include "support/session_names.hpp"
#include "scripted_transport.hpp"
#include "smtp/session.hpp"

using smtpn::crypto::Secret;

namespace {

void with_user(Exchange& x) {
  x.options.user = "tim";
  x.options.password = [] { return Secret(smtpn::test::kRfc2195Password); };
}

// X as user tim, against a server that offers BEFORE in the clear and AFTER inside TLS.
void with_user_over_starttls(Exchange& x, Lines before, Lines after) {
  x.server.ehlo = std::move(before);
  x.server.ehlo_tls = std::move(after);
  with_user(x);
}

bool has(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("STARTTLS: EHLO again inside TLS, and only the new capabilities count", "[session][tls]") {
  Exchange x;
  with_user_over_starttls(x, {"PIPELINING", "STARTTLS", "SIZE 10"}, {"AUTH PLAIN LOGIN", "8BITMIME"});
  const SendResult r = x.send();

  CHECK(x.transport.wire_before_tls() == "EHLO client.test\r\nSTARTTLS\r\n");
  CHECK(x.transport.lines() ==
        Lines{"EHLO client.test", "STARTTLS", "EHLO client.test", "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm",
              "MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.net>", "DATA", ".", "QUIT"});
  CHECK(x.transport.tls_options().server_name == "mx.test");  // SNI and verification default to host
  CHECK(x.transport.queued_at_tls() == 0);
  REQUIRE(r.tls.has_value());
  CHECK(r.tls->protocol == "TLSv1.3");
  CHECK(r.tls->cipher == "TEST");
  CHECK(r.mechanism == "PLAIN");
  CHECK(r.capabilities == Lines{"AUTH PLAIN LOGIN", "8BITMIME"});
  // The pre-TLS SIZE 10 no longer limits nor appears, the pre-TLS PIPELINING no longer batches.
  CHECK(x.transport.lines()[4] == "MAIL FROM:<alice@example.org>");
  for (const auto& w : x.transport.writes()) CHECK_FALSE((has(w.bytes, "MAIL") && has(w.bytes, "RCPT")));
  CHECK(x.traced("* TLS established: TLSv1.3 TEST; certificate verified for mx.test"));
}

TEST_CASE("STARTTLS: an AUTH list forged before TLS is ignored", "[session][tls]") {
  Exchange x;
  with_user_over_starttls(x, {"STARTTLS", "AUTH PLAIN LOGIN"}, {"AUTH CRAM-MD5"});
  const SendResult r = x.send();
  CHECK(r.mechanism == "CRAM-MD5");
  CHECK(x.transport.lines()[3] == "AUTH CRAM-MD5");
  CHECK_FALSE(has(x.transport.wire(), "AUTH PLAIN"));
  CHECK_FALSE(has(x.transport.wire(), "AUTH LOGIN"));

  SECTION("and an AUTH offered only before TLS is not used at all") {
    Exchange y;
    with_user_over_starttls(y, {"STARTTLS", "AUTH PLAIN LOGIN CRAM-MD5"}, {"8BITMIME"});
    const SendResult s = y.send();
    CHECK(s.mechanism.empty());
    CHECK_FALSE(has(y.transport.wire(), "AUTH"));
  }
}

TEST_CASE("STARTTLS: AUTH offered only after TLS is used inside TLS only", "[session][tls]") {
  Exchange x;
  with_user_over_starttls(x, {"STARTTLS"}, {"AUTH LOGIN"});
  const SendResult r = x.send();
  CHECK(r.mechanism == "LOGIN");
  CHECK_FALSE(has(x.transport.wire_before_tls(), "AUTH"));
  CHECK(has(x.transport.wire_after_tls(), "AUTH LOGIN\r\ndGlt\r\ndGFuc3RhYWZ0YW5zdGFhZg==\r\n"));
}

TEST_CASE("STARTTLS: a response injected after the 220 aborts the session", "[session][tls]") {
  Exchange x;
  with_user_over_starttls(x, {"STARTTLS"}, {"AUTH PLAIN"});
  SECTION("in the same segment as the 220") {
    x.server.on("STARTTLS", {as_is("220 2.0.0 go ahead\r\n250-mx.test\r\n250 AUTH PLAIN\r\n")});
  }
  SECTION("in a segment of its own, right behind the 220") {
    x.server.custom = [](ScriptedTransport& t, std::string_view line) {
      if (line != "STARTTLS") return false;
      t.send("220 2.0.0 go ahead\r\n");
      t.send("250-mx.test\r\n250 AUTH PLAIN\r\n");
      return true;
    };
  }
  const auto err = x.failure_of(Kind::kProtocol);
  CHECK(has(err->what(), "injection"));
  CHECK(x.transport.tls_attempts() == 0);
  CHECK(x.transport.wire() == "EHLO client.test\r\nSTARTTLS\r\n");  // nothing after it
}

TEST_CASE("stream type starttls: no STARTTLS or a refusal ends the session before AUTH", "[session][tls]") {
  Exchange x;
  x.options.stream_type = StreamType::kStartTls;
  with_user(x);
  std::string expected_wire = "EHLO client.test\r\n";
  SECTION("not offered") {
    x.server.ehlo = {"AUTH PLAIN LOGIN", "PIPELINING"};
    x.options.plaintext_auth = smtpn::smtp::PlaintextAuth::kAlways;  // even then: no TLS, no AUTH
    const auto err = x.failure_of(Kind::kTls);
  }
  const struct {
    const char* reply;
    int code;
    const char* enhanced;
  } refusals[] = {{"454 4.7.0 TLS not available due to temporary reason", 454, "4.7.0"},
                  {"502 5.5.1 not implemented", 502, "5.5.1"}};
  for (const auto& refusal : refusals) {
    DYNAMIC_SECTION("refused with " << refusal.code) {
      x.server.ehlo = {"STARTTLS", "AUTH PLAIN"};
      x.server.on("STARTTLS", {refusal.reply});
      expected_wire += "STARTTLS\r\n";
      const auto err = x.failure_of(Kind::kTls);
      CHECK(err->code() == refusal.code);
      CHECK(err->enhanced_status() == refusal.enhanced);
    }
  }
  CHECK(x.transport.wire() == expected_wire);
  CHECK_FALSE(x.transport.tls_started());
}

TEST_CASE("opportunistic TLS continues in the clear when STARTTLS is missing or refused", "[session][tls]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING"};
  SECTION("not offered") {
    const SendResult r = x.send();
    CHECK_FALSE(r.tls.has_value());
    CHECK(x.traced("does not offer STARTTLS"));
  }
  SECTION("refused") {
    x.server.ehlo = {"STARTTLS"};
    x.server.on("STARTTLS", {"454 4.7.0 not now"});
    const SendResult r = x.send();
    CHECK_FALSE(r.tls.has_value());
    CHECK(x.transport.lines()[1] == "STARTTLS");
    CHECK(x.transport.lines()[2] == "MAIL FROM:<alice@example.org>");
  }
  CHECK_FALSE(x.transport.tls_started());
  CHECK(x.transport.messages().size() == 1);
}

TEST_CASE("stream type plain never starts TLS", "[session][tls]") {
  Exchange x;
  x.options.stream_type = StreamType::kPlain;
  x.server.ehlo = {"STARTTLS"};
  const SendResult r = x.send();
  CHECK_FALSE(r.tls.has_value());
  CHECK(x.transport.tls_attempts() == 0);
  CHECK_FALSE(has(x.transport.wire(), "STARTTLS"));
}

TEST_CASE("implicit TLS starts before the greeting is read", "[session][tls]") {
  Exchange x;
  x.options.stream_type = StreamType::kImplicitTls;
  x.server.implicit_tls = true;
  x.server.ehlo = {"STARTTLS", "AUTH PLAIN"};  // STARTTLS inside TLS must not be used
  with_user(x);
  const SendResult r = x.send();
  CHECK(x.transport.tls_attempts() == 1);
  CHECK(x.transport.read_before_tls() == 0);
  CHECK(x.transport.written_before_tls() == 0);
  CHECK(x.transport.wire_before_tls().empty());
  CHECK_FALSE(has(x.transport.wire(), "STARTTLS"));
  CHECK(x.transport.lines()[1] == "AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
  REQUIRE(r.tls.has_value());
  CHECK(r.mechanism == "PLAIN");
}

TEST_CASE("a failed handshake is a TLS error and nothing more is sent", "[session][tls]") {
  Exchange x;
  x.transport.fail_tls = true;
  with_user(x);
  SECTION("STARTTLS") {
    x.server.ehlo = {"STARTTLS", "AUTH PLAIN"};
    const auto err = x.failure_of(Kind::kTls);
    CHECK(std::string(err->what()).find("(during STARTTLS)") != std::string::npos);
    CHECK(x.transport.wire() == "EHLO client.test\r\nSTARTTLS\r\n");
  }
  SECTION("implicit TLS") {
    x.options.stream_type = StreamType::kImplicitTls;
    x.server.implicit_tls = true;
    const auto err = x.failure_of(Kind::kTls);
    CHECK(std::string(err->what()).find("(during the TLS handshake)") != std::string::npos);
    CHECK(x.transport.wire().empty());
  }
  CHECK(x.transport.tls_attempts() == 1);
}

TEST_CASE("TLS options reach the transport; the server name defaults to the host", "[session][tls]") {
  Exchange x;
  x.server.ehlo = {"STARTTLS"};
  SECTION("default") {
    x.send(kMessage);
    CHECK(x.transport.tls_options().server_name == "mx.test");
    CHECK(x.transport.tls_options().verify);
  }
  SECTION("explicit") {
    x.options.tls.server_name = "smtp.example.org";
    x.options.tls.verify = false;
    x.send(kMessage);
    CHECK(x.transport.tls_options().server_name == "smtp.example.org");
    CHECK_FALSE(x.transport.tls_options().verify);
    CHECK(x.traced("CERTIFICATE NOT VERIFIED"));
  }
}
