// Replies a broken or hostile server might send: multi-line replies in mixed forms, LF-only
// line ends, a reply code that changes mid-reply, garbage codes, a 1 MB line, 10,000
// continuation lines (each a clean protocol error at bounded memory), and a whole dialogue
// written one byte per TCP segment (no difference at all).
#include <string>
#include <vector>

#include "alloc_meter.hpp"
#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;
using Lines = std::vector<std::string>;

namespace {

// A plain send to a server that greets with GREETING (raw bytes) and answers EHLO with
// EHLO_REPLY (raw bytes), then behaves.
Outcome send_with_replies(const std::string& greeting, const std::string& ehlo_reply, Record* record = nullptr) {
  HostileServer server([&](Connection& c) {
    c.send(greeting);
    c.expect("EHLO ");
    c.send(ehlo_reply);
    serve_transaction(c);
  });
  Outcome out = run_send(plain_options(server.port()));
  const Record& rec = server.finish();
  if (record) *record = rec;
  return out;
}

}  // namespace

TEST_CASE("multi-line replies in mixed forms and LF-only line ends are read", "[hostile][replies]") {
  const Outcome out = send_with_replies("220-hostile.test\n220-\r\n220 ESMTP\n",
                                        "250-hostile.test greets you\r\n250-PIPELINING\n250-\r\n250 8BITMIME\r\n");
  INFO(out.error_text());
  REQUIRE(out.result);
  CHECK(out.result->capabilities == Lines{"PIPELINING", "", "8BITMIME"});
  CHECK(out.result->final_reply.code == 250);
}

TEST_CASE("a reply code that changes within one reply is a protocol error", "[hostile][replies]") {
  Record rec;
  const Outcome out = send_with_replies("220 hostile.test\r\n", "250-hostile.test\r\n550 PIPELINING\r\n", &rec);
  REQUIRE(out.error);
  CHECK(out.error->kind() == Kind::kProtocol);
  CHECK(contains(out.error_text(), "changed the reply code"));
  CHECK_FALSE(contains(rec.before_tls, "MAIL FROM"));
}

TEST_CASE("garbage reply codes are a protocol error", "[hostile][replies]") {
  const std::string greeting = GENERATE(as<std::string>{}, "abc hostile\r\n", "99 x\r\n", "2500 x\r\n",
                                        "600 x\r\n", "270 x\r\n", "220x\r\n", "\r\n", std::string("2\0\0 x\r\n", 7));
  INFO(Catch::Detail::stringify(greeting));
  Record rec;
  HostileServer server([&](Connection& c) {
    c.send(greeting);
    c.wait_for_close(1000);
  });
  const Outcome out = run_send(plain_options(server.port()));
  rec = server.finish();
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kProtocol);
  CHECK(contains(out.error_text(), "malformed reply line"));
  CHECK_FALSE(contains(rec.before_tls, "EHLO"));  // nothing said to a server that makes no sense
}

TEST_CASE("a 1 MB reply line and 10,000 reply lines: clean errors at bounded memory", "[hostile][replies]") {
  const bool one_long_line = GENERATE(true, false);
  // Built before measuring: the server's copy is not the client's memory.
  std::string flood;
  if (one_long_line) {
    flood = "220 " + std::string(1024 * 1024, 'x') + "\r\n";
  } else {
    for (int i = 0; i < 10000; ++i) flood += "220-" + std::string(200, static_cast<char>('a' + i % 26)) + "\r\n";
    flood += "220 end\r\n";
  }
  HostileServer server([&flood](Connection& c) {
    c.send(flood);
    c.wait_for_close(1000);
  });
  const std::size_t before = heap_live();
  reset_heap_peak();
  const Outcome out = run_send(plain_options(server.port()));
  const std::size_t growth = heap_peak() - before;
  server.finish();

  INFO((one_long_line ? "1 MB line" : "10,000 lines") << "; peak heap growth " << growth << " bytes of a "
                                                        << flood.size() << "-byte flood");
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kProtocol);
  CHECK(contains(out.error_text(), one_long_line ? "longer than 4096 bytes" : "more than 512 lines"));
  // The flood is 1 MB or 2 MB. What grows is the 512 lines a reply may hold, and their trace.
  CHECK(growth < 512 * 1024);
}

TEST_CASE("every reply written one byte per segment: the same dialogue", "[hostile][replies]") {
  std::string payload;
  HostileServer server([&payload](Connection& c) {
    c.send_bytewise("220 hostile.test ESMTP\r\n");
    c.expect("EHLO ");
    c.send_bytewise("250-hostile.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
    c.expect("MAIL FROM:");
    c.expect("RCPT TO:");
    c.expect("DATA");
    c.send_bytewise("250 2.1.0 ok\r\n250 2.1.5 ok\r\n354 go ahead\r\n");
    auto data = c.read_data();
    if (!data) throw ScriptAbort("the message did not arrive");
    payload = *data;
    c.send_bytewise("250 2.0.0 queued\r\n");
    c.expect("QUIT");
    c.send_bytewise("221 2.0.0 bye\r\n");
  });
  const auto [out, rec] = deliver_to(server, plain_options(server.port()));
  CHECK(rec.script_error.empty());
  CHECK(rec.lines == one_transaction_lines());
  CHECK(payload == std::string(kMessage) + ".\r\n");
  CHECK(out.result->final_reply.code == 250);
  CHECK(out.result->final_reply.enhanced == "2.0.0");
  CHECK(out.result->capabilities == Lines{"PIPELINING", "8BITMIME"});
}
