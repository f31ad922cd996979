// DATA against smuggling (SMTP smuggling, 2023): whatever line ends a message carries, the
// server receives CRLF-only lines, dot-stuffed, and exactly one terminator, so a sequence that
// some server might read as "end of data" cannot end the message early and have the rest run
// as commands. The server here stops at the first CRLF "." CRLF, as a real one does; had the
// client let a smuggled terminator through, the smuggled MAIL FROM would reach the script as a
// command and the transaction would not be the one expected.
#include <string>
#include <vector>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;

namespace {

// What the message must look like on the wire before stuffing: every CRLF, bare CR and bare
// LF is one CRLF line end, and a last line without one gets one.
std::string crlf_normalised(std::string_view message) {
  std::string out;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' || c == '\n') {
      out += "\r\n";
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.compare(out.size() - 2, 2, "\r\n") != 0) out += "\r\n";
  return out;
}

// The payload as received (terminator included) with the terminator removed and every
// leading "." of a line undoubled; the checks that it was well-formed come first.
std::string unstuffed(const std::string& payload) {
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = payload.find("\r\n", pos);
    REQUIRE(end != std::string::npos);
    std::string line = payload.substr(pos, end - pos);
    pos = end + 2;
    if (line == ".") {
      CHECK(pos == payload.size());  // the terminator is the last thing, and the only one
      return out;
    }
    if (!line.empty() && line[0] == '.') {
      REQUIRE(line.size() > 1);
      CHECK(line[1] == '.');  // every line starting with "." was doubled
      line.erase(0, 1);
    }
    out += line + "\r\n";
  }
}

bool only_crlf_line_ends(const std::string& bytes) {
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\r' && (i + 1 == bytes.size() || bytes[i + 1] != '\n')) return false;
    if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) return false;
  }
  return true;
}

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
  CHECK(unstuffed(d.payload) == crlf_normalised(message));
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
  const bool byte_exact = unstuffed(d.payload) == crlf_normalised(message);  // no 5 MB dump on failure
  CHECK(byte_exact);
}
