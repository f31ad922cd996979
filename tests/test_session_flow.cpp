// Session over a scripted server, the successful paths: the exact command sequence with and
// without PIPELINING (one write per batch, every reply consumed), BDAT versus DATA, ESMTP
// parameters, SIZE, the HELO fallback, and the probe.
#include <algorithm>
#include <string>
#include <vector>

#include "catch.hpp"
#include "support/session_names.hpp"
#include "scripted_transport.hpp"
#include "smtp/encoder.hpp"
#include "smtp/session.hpp"

using smtpn::smtp::encode_message;
using smtpn::smtp::kBdatThreshold;
using smtpn::smtp::normalised_size;
using DataMode = smtpn::smtp::DataEncoder::Mode;

namespace {

// A body of at least N bytes whose lines start with dots now and then and end in bare LF.
std::string big_body(std::size_t n) {
  std::string m = "Subject: big\r\n\r\n";
  for (int i = 0; m.size() < n; ++i)
    m += (i % 5 == 0 ? ".dotted line " : "plain line ") + std::to_string(i) + (i % 3 ? "\r\n" : "\n");
  return m;
}

// The writes of the transport that contain NEEDLE.
Lines writes_with(const Exchange& x, std::string_view needle) {
  Lines out;
  for (const auto& w : x.transport.writes())
    if (w.bytes.find(needle) != std::string::npos) out.push_back(w.bytes);
  return out;
}

}  // namespace

TEST_CASE("without PIPELINING each command is written and answered in turn", "[session]") {
  Exchange x;
  x.server.ehlo = {"8BITMIME", "ENHANCEDSTATUSCODES"};
  const SendResult r = x.send();

  CHECK(x.transport.lines() == Lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                     "RCPT TO:<bob@example.net>", "DATA", ".", "QUIT"});
  CHECK(x.transport.wire() ==
        "EHLO client.test\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"
        "DATA\r\n" +
            std::string(kMessage) + ".\r\nQUIT\r\n");
  CHECK(x.transport.writes().size() == 6);
  REQUIRE(x.transport.messages().size() == 1);
  CHECK(x.transport.messages()[0] == std::string(kMessage) + ".\r\n");
  CHECK(x.transport.queued() == 0);  // every reply was read, the 221 included

  CHECK(r.accepted == Lines{"bob@example.net"});
  CHECK(r.rejected.empty());
  CHECK(r.final_reply.code == 250);
  CHECK(r.final_reply.enhanced == "2.0.0");
  CHECK(r.final_reply.text() == "2.0.0 queued as 4711");
  CHECK(r.mechanism.empty());
  CHECK_FALSE(r.tls.has_value());
  CHECK(r.capabilities == Lines{"8BITMIME", "ENHANCEDSTATUSCODES"});
}

TEST_CASE("without PIPELINING several recipients get one RCPT each", "[session]") {
  Exchange x;
  x.server.ehlo = {};
  x.mail.recipients = {"bob@example.net", "carol@example.com", "dave@example.org"};
  const SendResult r = x.send();
  CHECK(x.transport.lines() == Lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                     "RCPT TO:<bob@example.net>", "RCPT TO:<carol@example.com>",
                                     "RCPT TO:<dave@example.org>", "DATA", ".", "QUIT"});
  CHECK(writes_with(x, "RCPT").size() == 3);
  CHECK(r.accepted == x.mail.recipients);
}

TEST_CASE("the trace shows the conversation and progress ends with the whole message", "[session]") {
  Exchange x;
  x.server.ehlo = {};
  std::vector<Phase> phases;
  std::size_t last_sent = 0, last_total = 0;
  x.options.progress = [&](Phase p, std::size_t sent, std::size_t total) {
    if (phases.empty() || phases.back() != p) phases.push_back(p);
    if (p == Phase::kData) last_sent = sent, last_total = total;
  };
  x.send();
  CHECK(phases == std::vector<Phase>{Phase::kGreeting, Phase::kHello, Phase::kStartTls, Phase::kEnvelope,
                                     Phase::kData, Phase::kQuit});
  CHECK(last_total > 0);
  CHECK(last_sent == last_total);
  CHECK(x.traced("S: 220 mx.test ESMTP ready"));
  CHECK(x.traced("C: EHLO client.test"));
  CHECK(x.traced("C: MAIL FROM:<alice@example.org>"));
  CHECK(x.traced("C: <message: " + std::to_string(kMessage.size()) + " bytes>"));
  CHECK(x.traced("S: 250 2.0.0 queued as 4711"));
  CHECK_FALSE(x.traced("Hello."));  // the body is not traced
}

TEST_CASE("with PIPELINING the envelope goes out in one write", "[session][pipelining]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING"};

  SECTION("one recipient: MAIL, RCPT and DATA together") {
    const SendResult r = x.send();
    CHECK(writes_with(x, "MAIL FROM") ==
          Lines{"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"});
    CHECK(x.transport.lines() == Lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                       "RCPT TO:<bob@example.net>", "DATA", ".", "QUIT"});
    CHECK(r.final_reply.code == 250);
  }
  SECTION("several recipients: DATA waits for the RCPT replies") {
    x.mail.recipients = {"bob@example.net", "carol@example.com"};
    x.send();
    CHECK(
        writes_with(x, "MAIL FROM") ==
        Lines{
            "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.com>\r\n"});
    CHECK(writes_with(x, "DATA") == Lines{"DATA\r\n"});
  }
  SECTION("several recipients with partial delivery allowed: DATA joins the batch") {
    x.mail.recipients = {"bob@example.net", "carol@example.com", "dave@example.org"};
    x.mail.allow_partial = true;
    const SendResult r = x.send();
    CHECK(
        writes_with(x, "MAIL FROM") ==
        Lines{"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nRCPT TO:<carol@example.com>\r\n"
              "RCPT TO:<dave@example.org>\r\nDATA\r\n"});
    CHECK(r.accepted == x.mail.recipients);
  }
  CHECK(x.transport.queued() == 0);
  CHECK(x.transport.messages() == Lines{std::string(kMessage) + ".\r\n"});
}

TEST_CASE("a batch with PIPELINING: RSET opens the next envelope's write", "[session][pipelining][batch]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING"};
  x.prepare();
  smtpn::smtp::Session session(x.transport, x.options);
  const std::vector<smtpn::smtp::BatchItem> items(3, smtpn::smtp::BatchItem{x.mail, kMessage});

  SECTION("each later message is one write: RSET, MAIL, RCPT, DATA") {
    const auto outcomes = session.send_batch(items);
    REQUIRE(outcomes.size() == 3);
    for (const auto& o : outcomes) CHECK(o.result);
    CHECK(writes_with(x, "RSET") ==
          Lines(2, "RSET\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n"));
    CHECK(x.transport.messages().size() == 3);
    CHECK(x.transport.queued() == 0);
  }
  SECTION("RSET refused: the session ends there, that message and the next are not sent") {
    x.server.on("RSET", {"554 5.5.0 no more"});
    const auto outcomes = session.send_batch(items);
    REQUIRE(outcomes.size() == 3);
    CHECK(outcomes[0].result);
    REQUIRE(outcomes[1].error);
    CHECK(outcomes[1].error->code() == 554);
    CHECK(outcomes[1].error->delivery == smtpn::smtp::Delivery::kNotSent);
    REQUIRE(outcomes[2].error);
    CHECK(outcomes[2].error->delivery == smtpn::smtp::Delivery::kNotSent);
    // Nothing follows the refused group: no second message, and no QUIT the server,
    // which took DATA, would read as message text.
    CHECK(x.transport.messages().size() == 1);
    CHECK(x.transport.lines().back() == "DATA");
  }
}

TEST_CASE("pipelined replies are counted exactly however they arrive", "[session][pipelining]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING"};
  x.mail.recipients = {"bob@example.net", "carol@example.com", "dave@example.org"};
  x.mail.allow_partial = true;
  const std::string batch =
      "250 2.1.0 ok\r\n250 2.1.5 bob\r\n550 5.1.1 <carol@example.com>: no such user\r\n250-2.1.5 dave\r\n"
      "250 2.1.5 really\r\n354 go ahead\r\n";
  SECTION("all in one segment") {
    x.server.on("MAIL", {silence(), silence(), silence(), silence(), as_is(batch)});
  }
  SECTION("one byte at a time") {
    x.server.on("MAIL", {silence(), silence(), silence(), silence(), smtpn::test::bytewise(batch)});
  }
  const SendResult r = x.send();
  CHECK(r.accepted == Lines{"bob@example.net", "dave@example.org"});
  REQUIRE(r.rejected.size() == 1);
  CHECK(r.rejected[0].recipient == "carol@example.com");
  CHECK(r.rejected[0].reply.code == 550);
  CHECK(r.rejected[0].reply.enhanced == "5.1.1");
  CHECK(r.final_reply.code == 250);
  CHECK(x.transport.lines().back() == "QUIT");
  CHECK(x.transport.queued() == 0);
}

TEST_CASE("BDAT carries big messages when CHUNKING is offered, undotted and exactly sized",
          "[session][bdat]") {
  Exchange x;
  x.server.ehlo = {"PIPELINING", "CHUNKING"};
  const std::string body = big_body(kBdatThreshold + 1000);
  const std::size_t size = normalised_size(body);
  const SendResult r = x.send(body);

  CHECK(x.transport.lines() == Lines{"EHLO client.test", "MAIL FROM:<alice@example.org>",
                                     "RCPT TO:<bob@example.net>", "BDAT " + std::to_string(size) + " LAST",
                                     "QUIT"});
  REQUIRE(x.transport.messages().size() == 1);
  CHECK(x.transport.messages()[0] == encode_message(body, DataMode::kBdat));
  CHECK(x.transport.messages()[0].size() == size);
  CHECK(x.transport.messages()[0].find("\r\n..dotted") == std::string::npos);  // no dot-stuffing
  CHECK(writes_with(x, "MAIL FROM") ==
        Lines{"MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n"});  // no DATA in the batch
  CHECK(x.transport.writes().size() <= 6 + size / kDataChunk);  // large writes, not one per line
  CHECK(r.final_reply.code == 250);
}

TEST_CASE("DATA carries the message below the BDAT threshold or without CHUNKING", "[session][bdat]") {
  Exchange x;
  std::string body;
  SECTION("CHUNKING offered, message just under the threshold") {
    x.server.ehlo = {"CHUNKING"};
    body = big_body(kBdatThreshold);
    while (normalised_size(body) >= kBdatThreshold - 10) body.resize(body.size() - 100);
    REQUIRE(normalised_size(body) < kBdatThreshold);
  }
  SECTION("big message, CHUNKING not offered") {
    x.server.ehlo = {"PIPELINING"};
    body = big_body(kBdatThreshold + 1000);
  }
  x.send(body);
  CHECK(std::find(x.transport.lines().begin(), x.transport.lines().end(), "DATA") !=
        x.transport.lines().end());
  for (const auto& l : x.transport.lines()) CHECK(l.compare(0, 4, "BDAT") != 0);
  REQUIRE(x.transport.messages().size() == 1);
  CHECK(x.transport.messages()[0] == encode_message(body, DataMode::kData));
}

TEST_CASE("ESMTP parameters go out only when offered", "[session]") {
  Exchange x;
  x.mail.dsn_notify = "FAILURE,DELAY";
  x.mail.dsn_ret = "HDRS";
  x.mail.envid = "id+1";
  const std::string body = "Subject: caf\xc3\xa9\r\n\r\n8-bit body\r\n";
  SECTION("all offered") {
    x.server.ehlo = {"SIZE 1000000", "8BITMIME", "DSN"};
    x.send(body);
    CHECK(x.transport.lines()[1] == "MAIL FROM:<alice@example.org> SIZE=" + std::to_string(body.size()) +
                                        " BODY=8BITMIME RET=HDRS ENVID=id+2B1");
    CHECK(x.transport.lines()[2] == "RCPT TO:<bob@example.net> NOTIFY=FAILURE,DELAY");
  }
  SECTION("none offered") {
    x.server.ehlo = {"PIPELINING"};
    x.send(body);
    CHECK(x.transport.lines()[1] == "MAIL FROM:<alice@example.org>");
    CHECK(x.transport.lines()[2] == "RCPT TO:<bob@example.net>");
  }
}

TEST_CASE("a non-ASCII address without SMTPUTF8 fails before MAIL", "[session]") {
  Exchange x;
  x.server.ehlo = {"8BITMIME", "PIPELINING"};
  x.mail.recipients = {"j\xc3\xb6rg@example.de"};
  const auto err = x.failure();
  REQUIRE(err);
  CHECK(x.transport.wire().find("MAIL") == std::string::npos);
  CHECK(x.transport.wire().find("RCPT") == std::string::npos);

  Exchange y;
  y.server.ehlo = {"SMTPUTF8"};
  y.mail.recipients = {"j\xc3\xb6rg@example.de"};
  y.send();
  CHECK(y.transport.lines()[1] == "MAIL FROM:<alice@example.org> SMTPUTF8");
  CHECK(y.transport.lines()[2] == "RCPT TO:<j\xc3\xb6rg@example.de>");
}

TEST_CASE("SIZE: the normalised size is declared and checked before MAIL", "[session]") {
  Exchange x;
  x.server.ehlo = {"SIZE 100", "PIPELINING"};
  SECTION("exactly at the limit: sent, SIZE declared") {
    const std::string body = std::string(98, 'a') + "\n";  // 100 bytes once LF becomes CRLF
    x.send(body);
    CHECK(x.transport.lines()[1] == "MAIL FROM:<alice@example.org> SIZE=100");
  }
  SECTION("over the limit only after normalisation: refused, nothing of the envelope sent") {
    std::string body;
    for (int i = 0; i < 34; ++i) body += "ab\n";  // 102 raw bytes, 136 normalised
    const auto err = x.failure(body);
    REQUIRE(err);
    CHECK(err->kind() == Kind::kPermanent);
    CHECK(err->code() == 552);
    CHECK(err->enhanced_status() == "5.3.4");
    CHECK(x.transport.lines() == Lines{"EHLO client.test"});
  }
}

TEST_CASE("EHLO refused with 5xx falls back to HELO when nothing needs extensions", "[session][helo]") {
  Exchange x;
  x.server.on("EHLO", {"502 5.5.1 command not implemented"});
  SECTION("plain sending: HELO and a bare envelope") {
    x.mail.dsn_notify = "NEVER";
    const SendResult r = x.send();
    CHECK(x.transport.lines() == Lines{"EHLO client.test", "HELO client.test",
                                       "MAIL FROM:<alice@example.org>", "RCPT TO:<bob@example.net>", "DATA",
                                       ".", "QUIT"});
    CHECK(r.capabilities.empty());
  }
  SECTION("not when a user is given (AUTH needs EHLO)") {
    x.options.user = "tim";
    x.options.password = [] { return smtpn::crypto::Secret(std::string_view("pw")); };
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 502);
    CHECK(x.transport.lines() == Lines{"EHLO client.test"});
  }
  SECTION("not when STARTTLS is required") {
    x.options.stream_type = StreamType::kStartTls;
    const auto err = x.failure();
    REQUIRE(err);
    CHECK(err->code() == 502);
    CHECK(x.transport.lines() == Lines{"EHLO client.test"});
  }
  SECTION("HELO refused too") {
    x.server.on("HELO", {"550 5.7.1 go away"});
    const auto err = x.failure_of(Kind::kPermanent);
    CHECK(err->code() == 550);
    CHECK(x.transport.lines() == Lines{"EHLO client.test", "HELO client.test"});
  }
}

TEST_CASE("the probe reports greeting, capabilities and the mechanism AUTH would use", "[session][probe]") {
  Exchange x;
  x.server.ehlo = {"STARTTLS", "AUTH PLAIN", "SIZE 10"};
  x.server.ehlo_tls = Lines{"AUTH CRAM-MD5 PLAIN LOGIN", "SIZE 20000000"};
  const auto info = x.probe();
  CHECK(info.greeting.code == 220);
  CHECK(info.capabilities_before_tls == Lines{"STARTTLS", "AUTH PLAIN", "SIZE 10"});
  CHECK(info.capabilities_after_tls == Lines{"AUTH CRAM-MD5 PLAIN LOGIN", "SIZE 20000000"});
  REQUIRE(info.tls.has_value());
  CHECK(info.tls->protocol == "TLSv1.3");
  CHECK(info.offered_mechanisms == Lines{"CRAM-MD5", "PLAIN", "LOGIN"});
  CHECK(info.chosen_mechanism == "PLAIN");
  CHECK(x.transport.lines() == Lines{"EHLO client.test", "STARTTLS", "EHLO client.test", "QUIT"});
}
