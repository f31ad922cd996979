// The hostile server behaving well: a normal STARTTLS send succeeds, and the bytes it records
// are exactly the commands a correct client sends, each in the right phase. The other
// scenarios' assertions on recorded bytes rest on this one.
#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;

TEST_CASE("smoke: a well-behaved server gets exactly the expected commands", "[hostile][smoke]") {
  std::string payload;
  HostileServer server([&](Connection& c) {
    greet(c);
    answer_ehlo(c, {"PIPELINING", "STARTTLS"});
    c.expect("STARTTLS");
    c.reply("220 2.0.0 go ahead");
    if (!c.start_tls(Cert::kTrusted)) return;
    answer_ehlo(c, {"PIPELINING", "AUTH PLAIN"});
    c.expect("AUTH PLAIN ");
    c.reply("235 2.7.0 accepted");
    payload = serve_transaction(c);
  });
  const auto [out, rec] = deliver_to(server, hostile_auth_options(server.port()));
  CHECK(rec.script_error.empty());
  CHECK(rec.tls_established);
  CHECK(out.result->tls);
  CHECK(out.result->tls->verified);
  CHECK(out.result->mechanism == "PLAIN");
  CHECK(out.result->final_reply.code == 250);
  CHECK(rec.before_tls == "EHLO client.test\r\nSTARTTLS\r\n");
  // base64("\0alice\0s3cret-Pa55word")
  CHECK(rec.after_tls ==
        "EHLO client.test\r\n"
        "AUTH PLAIN AGFsaWNlAHMzY3JldC1QYTU1d29yZA==\r\n"
        "MAIL FROM:<alice@example.org>\r\n"
        "RCPT TO:<bob@example.net>\r\n"
        "DATA\r\n"
        "From: alice@example.org\r\nSubject: hi\r\n\r\nHello.\r\n.\r\n"
        "QUIT\r\n");
  CHECK(payload == "From: alice@example.org\r\nSubject: hi\r\n\r\nHello.\r\n.\r\n");
  CHECK(rec.handshake_bytes.substr(0, 2) == std::string("\x16\x03", 2));
  CHECK(rec.client_closed);
}
