// DATA against smuggling (SMTP smuggling, 2023): whatever line ends a message carries, the
// server receives CRLF-only lines, dot-stuffed, and exactly one terminator, so a sequence that
// some server might read as "end of data" cannot end the message early and have the rest run
// as commands. The server here stops at the first CRLF "." CRLF, as a real one does; had the
// client let a smuggled terminator through, the smuggled MAIL FROM would reach the script as a
// command and the transaction would not be the one expected.
#include <string>
#include <vector>

#include "catch.hpp"
#include "data_framing.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using smtpn::test::decode_data;
using smtpn::test::normalise;
using smtpn::test::only_crlf_line_ends;

namespace {

struct Delivery {
  Outcome out;
  Record record;
  std::string payload;
};

// Sends MESSAGE in the clear to a well-behaved server; returns what it received.
Delivery deliver(std::string_view message) {
  Delivery d;
  HostileServer server([&d](Connection& c) {
    greet(c);
    answer_ehlo(c, {"PIPELINING", "8BITMIME"});
    d.payload = serve_transaction(c);
  });
  d.out = run_send(plain_options(server.port()), hostile_mail(), message);
  d.record = server.finish();
  return d;
}

}  // namespace

TEST_CASE("smuggling sequences arrive as CRLF lines, dot-stuffed, in one message", "[hostile][data]") {
  const std::string sequence = GENERATE(as<std::string>{}, "\n.\n", "\r.\r", "\r.\n", "\n.\r\n", "\r\n.\n",
                                        std::string("\r\n\0.\r\n", 6), "\r\r\n");
  const std::string smuggled =
      "MAIL FROM:<evil@attacker.test>\r\nRCPT TO:<victim@example.net>\r\nDATA\r\n"
      "From: ceo@example.net\r\n\r\nsmuggled\r\n.\r\n";
  const std::string message = "From: alice@example.org\r\nSubject: smuggling\r\n\r\nbefore" + sequence + smuggled +
                              "after\r\n";
  INFO("sequence: " << Catch::Detail::stringify(sequence));
  const Delivery d = deliver(message);

  INFO(d.out.error_text());
  INFO(d.record.script_error);
  REQUIRE(d.out.result);
  CHECK(d.record.script_error.empty());
  CHECK(d.record.lines == one_transaction_lines());  // a smuggled command would show up here
  CHECK(only_crlf_line_ends(d.payload));
  CHECK(decode_data(d.payload) == normalise(message));
  // The smuggled commands are inside the one message, as text.
  CHECK(d.payload.find("\r\nMAIL FROM:<evil@attacker.test>\r\n") != std::string::npos);
}

TEST_CASE("edge-shaped messages keep one terminator", "[hostile][data]") {
  SECTION("a body that is only a dot") {
    const Delivery d = deliver(".");
    REQUIRE(d.out.result);
    CHECK(d.payload == "..\r\n.\r\n");
  }
  SECTION("no final line end") {
    const Delivery d = deliver("Subject: x\r\n\r\nno newline at the end");
    REQUIRE(d.out.result);
    CHECK(d.payload == "Subject: x\r\n\r\nno newline at the end\r\n.\r\n");
  }
  SECTION("a last line that is a dot without a line end") {
    const Delivery d = deliver("Subject: x\r\n\r\ntext\r\n.");
    REQUIRE(d.out.result);
    CHECK(d.payload == "Subject: x\r\n\r\ntext\r\n..\r\n.\r\n");
  }
}

TEST_CASE("5 MB of dotted lines arrive byte-exact", "[hostile][data]") {
  std::string message = "From: alice@example.org\r\nSubject: dots\r\n\r\n";
  const char* shapes[] = {".", "..", ".leading dot\n", "plain line\r\n", ".\r", "...three\r\n", "\r\n"};
  for (std::size_t i = 0; message.size() < 5 * 1024 * 1024; ++i) {
    message += shapes[i % 7];
    message += (i % 3 == 0) ? "\n" : "\r\n";
  }
  const Delivery d = deliver(message);
  INFO(d.out.error_text());
  REQUIRE(d.out.result);
  CHECK(d.record.lines == one_transaction_lines());
  CHECK(only_crlf_line_ends(d.payload));
  const bool byte_exact = decode_data(d.payload) == normalise(message);  // no 5 MB dump on failure
  CHECK(byte_exact);
}
