// smtp::ReplyReader and the reply-line parsers: single and multi-line replies, line ends,
// enhanced status codes, every malformed form, and the bounds (line length, line count) that
// keep a hostile server from making us buffer without limit.
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "net/error.hpp"
#include "scripted_transport.hpp"
#include "smtp/error.hpp"
#include "smtp/reply.hpp"

using smtpn::net::Deadline;
using smtpn::net::NetError;
using namespace smtpn::smtp;
using smtpn::test::ScriptedTransport;
using Kind = SmtpError::Kind;

namespace {

Deadline soon() { return Deadline::after_seconds(5); }

Reply read_one(std::string_view bytes, ReplyLimits limits = {}) {
  ScriptedTransport t;
  t.send(bytes);
  ReplyReader reader(t, limits, {});
  return reader.read(soon());
}

// The kind of SmtpError reading BYTES ends with, or nothing when a reply was read.
std::optional<Kind> read_error(ScriptedTransport& t, ReplyLimits limits = {}) {
  ReplyReader reader(t, limits, {});
  try {
    reader.read(soon());
  } catch (const SmtpError& e) {
    return e.kind();
  }
  return std::nullopt;
}

std::optional<Kind> read_error(std::string_view bytes, ReplyLimits limits = {}) {
  ScriptedTransport t;
  t.send(bytes);
  t.hang_up();
  return read_error(t, limits);
}

}  // namespace

TEST_CASE("a single-line reply gives its code and text", "[reply]") {
  const Reply r = read_one("250 2.0.0 Ok: queued as 4711\r\n");
  CHECK(r.code == 250);
  CHECK(r.klass() == 2);
  CHECK(r.enhanced == "2.0.0");
  REQUIRE(r.lines.size() == 1);
  CHECK(r.lines[0] == "2.0.0 Ok: queued as 4711");
  CHECK(r.text() == "2.0.0 Ok: queued as 4711");
  CHECK(r.summary() == "250 2.0.0 Ok: queued as 4711");
}

TEST_CASE("a multi-line reply keeps every line's text in order", "[reply]") {
  const Reply r = read_one("250-mx.test Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n");
  CHECK(r.code == 250);
  CHECK(r.lines == std::vector<std::string>{"mx.test Hello", "PIPELINING", "SIZE 1000", "8BITMIME"});
  CHECK(r.text() == "mx.test Hello\nPIPELINING\nSIZE 1000\n8BITMIME");
  CHECK(r.summary() == "250 mx.test Hello");
}

TEST_CASE("bare LF line ends are read like CRLF", "[reply]") {
  const Reply r = read_one("250-first\n250-second\r\n250 third\n");
  CHECK(r.lines == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("a code without text is a reply", "[reply]") {
  const std::string bytes = GENERATE(std::string("250\r\n"), std::string("250 \r\n"), std::string("250\n"));
  const Reply r = read_one(bytes);
  CHECK(r.code == 250);
  CHECK(r.lines == std::vector<std::string>{""});
  CHECK(r.enhanced.empty());
  CHECK(r.summary() == "250");
}

TEST_CASE("two replies in one segment are read one after the other", "[reply]") {
  ScriptedTransport t;
  t.send("250 first\r\n354 second\r\n");
  ReplyReader reader(t, {}, {});
  CHECK(reader.read(soon()).code == 250);
  CHECK(reader.has_buffered());
  CHECK(reader.read(soon()).code == 354);
  CHECK_FALSE(reader.has_buffered());
}

TEST_CASE("a reply split one byte per segment reads the same as in one piece", "[reply]") {
  const std::string bytes = "250-mx.test\r\n250-AUTH PLAIN\n250 2.0.0 ok\r\n";
  ScriptedTransport t;
  t.send_bytewise(bytes);
  ReplyReader reader(t, {}, {});
  const Reply r = reader.read(soon());
  CHECK(t.bytes_read() == bytes.size());
  CHECK(r.code == 250);
  CHECK(r.enhanced.empty());  // taken from the first line only
  CHECK(r.lines == std::vector<std::string>{"mx.test", "AUTH PLAIN", "2.0.0 ok"});
}

TEST_CASE("every line read is traced with an S: prefix", "[reply]") {
  ScriptedTransport t;
  t.send("220-mx.test\r\n220 ready\r\n");
  std::vector<std::string> trace;
  ReplyReader reader(t, {}, [&](std::string_view l) { trace.emplace_back(l); });
  reader.read(soon());
  CHECK(trace == std::vector<std::string>{"S: 220-mx.test", "S: 220 ready"});
}

TEST_CASE("enhanced status codes are parsed when their class matches the reply's", "[reply]") {
  CHECK(read_one("550 5.1.1 <x@y>: no such user\r\n").enhanced == "5.1.1");
  CHECK(read_one("452 4.3.1 insufficient storage\r\n").enhanced == "4.3.1");
  CHECK(read_one("250 2.0.0\r\n").enhanced == "2.0.0");
  CHECK(read_one("550 5.123.456 wide\r\n").enhanced == "5.123.456");
  // The first line carries it; later lines do not change it.
  CHECK(read_one("550-5.7.1 first\r\n550 5.1.1 second\r\n").enhanced == "5.7.1");

  CHECK(parse_enhanced_status(550, "2.1.1 ok") == "");  // class mismatch
  CHECK(parse_enhanced_status(250, "5.0.0 x") == "");
  CHECK(parse_enhanced_status(550, "5.1 x") == "");       // two parts
  CHECK(parse_enhanced_status(550, "5.1.1000 x") == "");  // detail of four digits
  CHECK(parse_enhanced_status(550, "5.1000.1 x") == "");  // subject of four digits
  CHECK(parse_enhanced_status(550, "5.1.1x") == "");      // not followed by a space
  CHECK(parse_enhanced_status(550, "5..1 x") == "");
  CHECK(parse_enhanced_status(550, "55.1.1 x") == "");
  CHECK(parse_enhanced_status(550, "") == "");
  CHECK(read_one("550 Mailbox unavailable\r\n").enhanced == "");
}

TEST_CASE("parse_reply_line accepts DDD, DDD SP text and DDD-text only", "[reply]") {
  int code = 0;
  bool more = true;
  std::string_view text;
  REQUIRE(parse_reply_line("354 go ahead", code, more, text));
  CHECK((code == 354 && !more && text == "go ahead"));
  REQUIRE(parse_reply_line("250-PIPELINING", code, more, text));
  CHECK((code == 250 && more && text == "PIPELINING"));
  REQUIRE(parse_reply_line("221", code, more, text));
  CHECK((code == 221 && !more && text.empty()));
}

TEST_CASE("a reply code's second digit is 0 to 5 (RFC 5321 §4.2 Reply-code)", "[reply]") {
  int code = 0;
  bool more = false;
  std::string_view text;
  CHECK(parse_reply_line("259 ok", code, more, text));
  CHECK(code == 259);
  for (const char* line : {"260 ok", "279 x", "499-x", "590", "599 x"}) {
    CAPTURE(line);
    CHECK_FALSE(parse_reply_line(line, code, more, text));
    CHECK(read_error(std::string(line) + "\r\n") == Kind::kProtocol);
  }
}

TEST_CASE("an enhanced status has class 2, 4 or 5 only (RFC 3463)", "[reply]") {
  CHECK(read_one("354 3.0.0 start mail input\r\n").enhanced == "");
  CHECK(parse_enhanced_status(354, "3.0.0 go ahead") == "");
  CHECK(parse_enhanced_status(334, "3.7.0 x") == "");
  CHECK(parse_enhanced_status(250, "2.0.0 ok") == "2.0.0");
}

TEST_CASE("a malformed reply line is a protocol error", "[reply]") {
  const std::string line =
      GENERATE(as<std::string>{}, "25O ok", "2x0 ok", "199 too low", "099 x", "600 too high", "999 x",
               "250_ok", "250ok", "2500 ok", "250:ok", "25", "", "ok", " 250 ok", "\t250 ok");
  CAPTURE(line);
  int code = 0;
  bool more = false;
  std::string_view text;
  CHECK_FALSE(parse_reply_line(line, code, more, text));
  CHECK(read_error(line + "\r\n") == Kind::kProtocol);
}

TEST_CASE("a reply whose code changes between lines is a protocol error", "[reply]") {
  CHECK(read_error("250-mx.test\r\n251 other\r\n") == Kind::kProtocol);
  CHECK(read_error("250-mx.test\r\n550 other\r\n") == Kind::kProtocol);
}

TEST_CASE("reply lines are bounded by max_line, line end included", "[reply]") {
  const ReplyLimits limits{16, 512};
  CHECK(read_one("250 0123456789\r\n", limits).lines[0] == "0123456789");  // 16 bytes
  CHECK(read_one("250 01234567890\n", limits).lines[0] == "01234567890");  // 16 bytes
  CHECK(read_error("250 01234567890\r\n", limits) == Kind::kProtocol);     // 17 bytes
  CHECK(read_error("250-ok\r\n250 0123456789AB\n", limits) == Kind::kProtocol);

  SECTION("also when the line arrives one byte at a time") {
    ScriptedTransport t;
    t.send_bytewise("250 0123456789\r\n");
    ReplyReader reader(t, limits, {});
    CHECK(reader.read(soon()).lines[0] == "0123456789");
    ScriptedTransport t2;
    t2.send_bytewise("250 01234567890\r\n");
    CHECK(read_error(t2, limits) == Kind::kProtocol);
  }
}

TEST_CASE("a 1 MB reply line fails cleanly without being buffered", "[reply]") {
  const std::string huge = "250 " + std::string(1 << 20, 'x') + "\r\n";
  SECTION("in one segment") {
    ScriptedTransport t;
    t.send(huge);
    CHECK(read_error(t) == Kind::kProtocol);
    CHECK(t.bytes_read() <= 64 * 1024);
  }
  SECTION("in 1 KiB segments") {
    ScriptedTransport t;
    for (std::size_t i = 0; i < huge.size(); i += 1024) t.send(std::string_view(huge).substr(i, 1024));
    CHECK(read_error(t) == Kind::kProtocol);
    CHECK(t.bytes_read() <= 64 * 1024);
  }
  SECTION("with no line end at all") {
    ScriptedTransport t;
    t.send(std::string(1 << 20, '2'));
    CHECK(read_error(t) == Kind::kProtocol);
    CHECK(t.bytes_read() <= 64 * 1024);
  }
}

TEST_CASE("reply lines are bounded in number by max_lines", "[reply]") {
  const ReplyLimits limits{4096, 512};
  auto reply_of = [](std::size_t lines) {
    std::string s;
    for (std::size_t i = 1; i < lines; ++i) s += "250-line\r\n";
    return s + "250 end\r\n";
  };
  CHECK(read_one(reply_of(512), limits).lines.size() == 512);
  CHECK(read_error(reply_of(513), limits) == Kind::kProtocol);

  SECTION("10,000 continuation lines end in a clean error") {
    std::string endless;
    for (int i = 0; i < 10000; ++i) endless += "250-AUTH PLAIN LOGIN\r\n";
    ScriptedTransport t;
    t.send(endless);  // no final line: a reader without the bound would wait for more
    CHECK(read_error(t, limits) == Kind::kProtocol);
  }
}

TEST_CASE("a connection that ends mid-reply is a network error, not a reply", "[reply]") {
  ScriptedTransport t;
  t.send("250-mx.test\r\n250-PIPEL");
  t.hang_up();
  ReplyReader reader(t, {}, {});
  try {
    reader.read(soon());
    FAIL("a truncated reply was accepted");
  } catch (const NetError& e) {
    CHECK(e.kind() == NetError::Kind::kClosed);
  }
}
