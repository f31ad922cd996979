// Session against servers that refuse, hang up or stall: rejected recipients (RSET, nothing
// sent, or partial delivery), 4xx versus 5xx, 421 in every phase, connections dropped in every
// phase (and "delivery status unknown" after the final dot), and deadlines (virtual time).
#include <algorithm>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/session_names.hpp"
#include "scripted_transport.hpp"
#include "smtp/session.hpp"

using smtpn::test::delayed;
using smtpn::test::reset_after;

namespace {

bool has(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

bool sent_line(const Exchange& x, std::string_view line) {
  const auto& l = x.transport.lines();
  return std::find(l.begin(), l.end(), line) != l.end();
}

}  // namespace

TEST_CASE("a rejected recipient stops the whole mail, unless allow_partial sends to the others",
          "[session][rcpt]") {
  Exchange x;
  const bool pipelining = GENERATE(false, true);
  CAPTURE(pipelining);
  x.server.ehlo = pipelining ? Lines{"PIPELINING"} : Lines{};
  x.mail.recipients = {"bob@example.net", "carol@example.com", "dave@example.org"};
  x.server.on("RCPT TO:<carol@", {"550 5.1.1 <carol@example.com>: Recipient address rejected"});
  SECTION("by default nothing is sent") {
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 550);
    CHECK(err->enhanced_status() == "5.1.1");
    CHECK(has(err->what(), "<carol@example.com>"));
    CHECK(has(err->what(), "nothing was sent"));
    CHECK_FALSE(has(err->what(), "<bob@example.net>"));
    CHECK(sent_line(x, "RSET"));
    CHECK_FALSE(sent_line(x, "DATA"));
    CHECK(x.transport.messages().empty());
  }
  SECTION("with allow_partial the accepted recipients get the mail") {
    x.mail.allow_partial = true;
    const SendResult r = x.send();
    CHECK(r.accepted == Lines{"bob@example.net", "dave@example.org"});
    REQUIRE(r.rejected.size() == 1);
    CHECK(r.rejected[0].recipient == "carol@example.com");
    CHECK(r.rejected[0].reply.code == 550);
    CHECK(r.rejected[0].reply.text() == "5.1.1 <carol@example.com>: Recipient address rejected");
    CHECK(x.transport.messages().size() == 1);
    CHECK_FALSE(sent_line(x, "RSET"));
  }
}

TEST_CASE("recipients refused only with 4xx make a temporary error", "[session][rcpt]") {
  Exchange x;
  x.mail.recipients = {"bob@example.net", "carol@example.com"};
  SECTION("all 4xx") {
    x.server.on("RCPT TO:<bob@", {"450 4.2.0 greylisted"}).on("RCPT TO:<carol@", {"451 4.3.0 try later"});
    const auto err = x.failure_of(Kind::kTemporary);
    CHECK(err->code() == 450);
  }
  SECTION("one 4xx is temporary even without allow_partial") {
    x.server.on("RCPT TO:<carol@", {"452 4.5.3 too many recipients"});
    const auto err = x.failure_of(Kind::kTemporary);
    CHECK(err->code() == 452);
  }
  SECTION("4xx and 5xx mixed: permanent") {
    x.server.on("RCPT TO:<bob@", {"450 4.2.0 greylisted"}).on("RCPT TO:<carol@", {"550 5.1.1 unknown"});
    const auto err = x.failure_of(Kind::kPermanent);
  }
  CHECK(x.transport.messages().empty());
}

TEST_CASE("a pipelined DATA after a refused sole recipient sends no message", "[session][rcpt]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING"};
  SECTION("the server answers DATA with 554 (RFC 2920)") {
    x.server.on("RCPT", {"550 5.1.1 unknown", "554 5.5.1 no valid recipients"});
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 550);
    CHECK(sent_line(x, "RSET"));
  }
  SECTION("a broken server answers DATA with 354: the session drops the connection") {
    x.server.on("RCPT", {"550 5.1.1 unknown", "354 go ahead"});
    const auto err = x.failure_of(Kind::kProtocol);
    CHECK(x.transport.wire().find("Hello.") == std::string::npos);
    CHECK(x.transport.lines().back() == "DATA");
  }
  CHECK(x.transport.messages().empty());
}

TEST_CASE("a refused sender stops the transaction", "[session]") {
  Exchange x;
  SECTION("without PIPELINING: no RCPT is sent") {
    x.server.ehlo = {};
    x.server.on("MAIL", {"553 5.7.1 sender not allowed"});
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 553);
    CHECK(x.transport.lines() == Lines{"EHLO client.test", "MAIL FROM:<alice@example.org>", "RSET"});
  }
  SECTION("with PIPELINING: every batched reply is read, then RSET") {
    x.server.ehlo = {"PIPELINING"};
    x.server.on("MAIL", {"553 5.7.1 sender not allowed", "503 5.5.1 no sender", "503 5.5.1 no recipients"});
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 553);
    CHECK(x.transport.lines() == Lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                       "RCPT TO:<bob@example.net>", "DATA", "RSET"});
  }
  CHECK(x.transport.messages().empty());
}

TEST_CASE("a greeting other than 220 ends the session", "[session]") {
  Exchange x;
  x.server.greeting = "554 5.3.2 no SMTP service here";
  const auto err = x.failure_of(Kind::kPermanent);
  CHECK(err->code() == 554);
  CHECK(x.transport.wire().find("EHLO") == std::string::npos);
}

TEST_CASE("a server that hangs up right after accepting the message: sent", "[session]") {
  Exchange x;
  x.server.on(".", {hang_up("250 2.0.0 queued")});
  CHECK(x.send().final_reply.code == 250);
  CHECK(x.transport.lines().back() == "QUIT");
}

TEST_CASE("the final reply decides, with its code, enhanced status and text", "[session]") {
  Exchange x;
  SECTION("5xx") {
    x.server.on(".", {"554-5.7.1 message rejected as spam\r\n554 5.7.1 see https://example.org/why"});
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 554);
    CHECK(err->enhanced_status() == "5.7.1");
    CHECK(err->reply_text() == "5.7.1 message rejected as spam\n5.7.1 see https://example.org/why");
    CHECK(has(err->what(), "554 5.7.1 message rejected as spam"));
  }
  SECTION("4xx") {
    x.server.on(".", {"451 4.3.0 temporary local problem"});
    const auto err = x.failure_of(Kind::kTemporary);
    CHECK(err->code() == 451);
  }
  CHECK(x.transport.messages().size() == 1);
}

TEST_CASE("421 in any phase is a temporary error carrying the 421", "[session][421]") {
  Exchange x;
  const bool pipelining = GENERATE(false, true);
  CAPTURE(pipelining);
  x.server.ehlo = {"STARTTLS", "AUTH PLAIN"};
  if (pipelining) x.server.ehlo.push_back("PIPELINING");
  x.options.user = "tim";
  x.options.password = [] { return smtpn::crypto::Secret(std::string_view("pw")); };
  const std::string closing = "421 4.3.2 service shutting down, closing channel";
  const std::string phase =
      GENERATE(as<std::string>{}, "greeting", "EHLO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", ".");
  CAPTURE(phase);
  if (phase == "greeting")
    x.server.greeting = hang_up(closing);
  else
    x.server.on(phase, {hang_up(closing)});  // the server closes right after its 421 (RFC 5321 §3.8)
  const auto err = x.failure_of(Kind::kTemporary);
  CHECK(err->code() == 421);
  CHECK(err->enhanced_status() == "4.3.2");
  CHECK_FALSE(sent_line(x, "HELO client.test"));
}

TEST_CASE("a dropped connection is a connection error in every phase", "[session][disconnect]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING"};
  std::string body(kMessage);
  SECTION("right after the greeting") { x.server.greeting = hang_up("220 mx.test ESMTP"); }
  SECTION("in the middle of the EHLO reply") {
    x.server.on("EHLO", {hang_up(as_is("250-mx.test\r\n250-PIPELIN"))});
  }
  SECTION("after MAIL") { x.server.on("MAIL", {hang_up()}); }
  SECTION("in the middle of the message data") {
    for (int i = 0; body.size() < 3 * kDataChunk; ++i) body += "line " + std::to_string(i) + "\r\n";
    x.server.custom = [](ScriptedTransport& t, std::string_view line) {
      if (line != "DATA") return false;
      t.send("354 go ahead\r\n");
      t.start_data();
      t.break_after_writes(1);  // the first chunk arrives, the second write fails
      return true;
    };
  }
  SECTION("before the message data") { x.server.on("DATA", {reset_after("354 go ahead")}); }
  const auto err = x.failure(body);
  REQUIRE(err);
  CHECK(err->kind() == Kind::kConnection);
  CHECK_FALSE(has(err->what(), "unknown"));  // before the final dot the mail is surely not delivered
  CHECK(x.transport.messages().empty());
}

TEST_CASE("a connection dropped after the final dot leaves the delivery status unknown",
          "[session][disconnect]") {
  Exchange x;
  x.server.on(".", {hang_up()});
  const auto err = x.failure_of(Kind::kConnection);
  CHECK(has(err->what(), "delivery status unknown"));
  CHECK(x.transport.messages().size() == 1);
}

TEST_CASE("a server slower than the timeout is a timeout", "[session][timeout]") {
  Exchange x;
  x.options.timeout_seconds = 1;
  SECTION("greeting") { x.server.greeting = delayed(3000, "220 mx.test"); }
  SECTION("EHLO") { x.server.on("EHLO", {delayed(3000, "250 mx.test")}); }
  SECTION("MAIL") { x.server.on("MAIL", {delayed(1500, "250 ok")}); }
  SECTION("DATA (2/5 of the timeout)") { x.server.on("DATA", {delayed(600, "354 go")}); }
  SECTION("never answers") { x.server.on("RCPT", {silence()}); }
  const auto err = x.failure_of(Kind::kTimeout);
  CHECK(x.transport.messages().empty());
}

TEST_CASE("a server within the timeout is waited for", "[session][timeout]") {
  Exchange x;
  x.options.timeout_seconds = 1;
  SECTION("MAIL") { x.server.on("MAIL", {delayed(700, "250 ok")}); }
  SECTION("the final reply may take twice the timeout (RFC 5321's 10 minutes)") {
    x.server.on(".", {delayed(1700, "250 ok")});
  }
  CHECK(x.send().final_reply.code == 250);
}

TEST_CASE("a timeout after the final dot says the delivery status is unknown", "[session][timeout]") {
  Exchange x;
  x.options.timeout_seconds = 1;
  x.server.on(".", {delayed(5000, "250 ok")});
  const auto err = x.failure_of(Kind::kTimeout);
  CAPTURE(std::string(err->what()));
  CHECK(has(err->what(), "unknown"));
}
