// smtp::commands: every caller value that could inject a command (CR, LF, NUL) is refused —
// and a Session refuses it before a single byte is read or written; ESMTP parameters appear
// only when the server offers them; xtext (RFC 3461) for ENVID.
#include <limits>
#include <string>
#include <vector>

#include "catch.hpp"
#include "scripted_transport.hpp"
#include "smtp/capabilities.hpp"
#include "smtp/commands.hpp"
#include "smtp/error.hpp"
#include "net/deadline.hpp"

using namespace smtpn::smtp;
using smtpn::test::Exchange;
using Kind = SmtpError::Kind;

namespace {

MailOptions mail_to(std::vector<std::string> recipients, std::string from = "alice@example.org") {
  MailOptions m;
  m.from = std::move(from);
  m.recipients = std::move(recipients);
  return m;
}

template <class Fn>
std::optional<Kind> error_kind(Fn fn) {
  try {
    fn();
  } catch (const SmtpError& e) {
    return e.kind();
  }
  return std::nullopt;
}

// The injections: each breaks the command line it is put on.
#define INJECTION() \
  GENERATE(as<std::string>{}, "\r", "\n", std::string(1, '\0'), "\r\nRCPT TO:<eve@evil>", "\nDATA")

Capabilities everything() {
  Capabilities c;
  c.size_limit = 1000000;
  c.eight_bit_mime = true;
  c.smtputf8 = true;
  c.dsn = true;
  return c;
}

}  // namespace

TEST_CASE("CR, LF and NUL in any mail field are refused", "[commands]") {
  const std::string bad = INJECTION();
  CAPTURE(bad);
  MailOptions m = mail_to({"bob@example.net"});
  SECTION("sender") { m.from = "alice" + bad + "@example.org"; }
  SECTION("first recipient") { m.recipients[0] = "bob@example.net" + bad; }
  SECTION("a later recipient") { m.recipients.push_back(bad + "carol@example.net"); }
  SECTION("DSN NOTIFY") { m.dsn_notify = "SUCCESS" + bad; }
  SECTION("DSN RET") { m.dsn_ret = "FULL" + bad; }
  SECTION("ENVID") { m.envid = "id" + bad + "1"; }
  CHECK(error_kind([&] { validate_mail(m); }) == Kind::kInvalidArgument);
}

TEST_CASE("CR, LF and NUL in the HELO name or host are refused", "[commands]") {
  const std::string bad = INJECTION();
  CAPTURE(bad);
  SessionOptions o;
  o.host = "mx.test";
  SECTION("HELO") { o.helo = "client" + bad; }
  SECTION("host") { o.host = "mx.test" + bad; }
  CHECK(error_kind([&] { validate_session(o); }) == Kind::kInvalidArgument);
}

TEST_CASE("other values that cannot go on the wire are refused", "[commands]") {
  SessionOptions o;
  o.host = "mx.test";
  CHECK_FALSE(error_kind([&] { validate_session(o); }));
  SECTION("empty host") { o.host = ""; }
  SECTION("empty HELO") { o.helo = ""; }
  SECTION("HELO with a space") { o.helo = "client test"; }
  SECTION("user with NUL") { o.user = std::string("us\0er", 5); }
  SECTION("zero timeout") { o.timeout_seconds = 0; }
  CHECK(error_kind([&] { validate_session(o); }) == Kind::kInvalidArgument);
}

TEST_CASE("a timeout that is NaN, infinite, negative or huge is refused, not cast", "[commands][numeric]") {
  SessionOptions o;
  o.host = "mx.test";
  const double bad = GENERATE(std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                              -std::numeric_limits<double>::infinity(), -1.0, 1e-9, 86400.5, 1e19, 1e300);
  CAPTURE(bad);
  o.timeout_seconds = bad;
  CHECK(error_kind([&] { validate_session(o); }) == Kind::kInvalidArgument);
}

TEST_CASE("reply limits of zero are refused", "[commands][numeric]") {
  SessionOptions o;
  o.host = "mx.test";
  SECTION("line length") { o.limits.max_line = 0; }
  SECTION("line count") { o.limits.max_lines = 0; }
  CHECK(error_kind([&] { validate_session(o); }) == Kind::kInvalidArgument);
}

TEST_CASE("deadlines saturate instead of overflowing the clock", "[commands][numeric]") {
  using smtpn::net::Deadline;
  // Under -fsanitize=float-cast-overflow (SMTPN_SANITIZE) a plain cast of these aborts.
  const double seconds = GENERATE(std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(),
                                  -std::numeric_limits<double>::infinity(), 1e300, -1e300);
  CAPTURE(seconds);
  const Deadline d = Deadline::after_seconds(seconds);
  if (seconds > 0) {
    CHECK_FALSE(d.expired());
    CHECK(d.poll_timeout_ms(50) == 50);
  } else {
    CHECK(d.expired());  // NaN and negatives are "now"
  }
}

TEST_CASE("addresses and DSN values are checked", "[commands]") {
  CHECK_FALSE(error_kind([] { validate_mail(mail_to({"bob@example.net"}, "")); }));  // null sender
  CHECK(error_kind([] { validate_mail(mail_to({})); }) == Kind::kInvalidArgument);
  CHECK(error_kind([] { validate_mail(mail_to({""})); }) == Kind::kInvalidArgument);
  for (const std::string bad : {"<bob@example.net>", "bob@example.net>", "bob @example.net", "bob\t@x"}) {
    CAPTURE(bad);
    CHECK(error_kind([&] { validate_mail(mail_to({bad})); }) == Kind::kInvalidArgument);
    CHECK(error_kind([&] { validate_mail(mail_to({"bob@example.net"}, bad)); }) == Kind::kInvalidArgument);
  }
  auto with_dsn = [](std::string notify, std::string ret, std::string envid) {
    MailOptions m = mail_to({"bob@example.net"});
    m.dsn_notify = std::move(notify);
    m.dsn_ret = std::move(ret);
    m.envid = std::move(envid);
    return error_kind([&] { validate_mail(m); });
  };
  CHECK_FALSE(with_dsn("NEVER", "FULL", "id"));
  CHECK_FALSE(with_dsn("SUCCESS,FAILURE,DELAY", "HDRS", std::string(100, 'x')));
  CHECK(with_dsn("NEVER,SUCCESS", "", "") == Kind::kInvalidArgument);
  CHECK(with_dsn("SUCCESS,", "", "") == Kind::kInvalidArgument);
  CHECK(with_dsn("SOMETIMES", "", "") == Kind::kInvalidArgument);
  CHECK(with_dsn("", "PARTIAL", "") == Kind::kInvalidArgument);
  CHECK(with_dsn("", "", std::string(101, 'x')) == Kind::kInvalidArgument);
}

TEST_CASE("a Session refuses an injection before reading or writing anything", "[commands][session]") {
  const std::string bad = INJECTION();
  CAPTURE(bad);
  Exchange x;
  SECTION("sender") { x.mail.from = "alice@example.org" + bad; }
  SECTION("recipient") { x.mail.recipients = {"bob@example.net", "carol@example.net" + bad}; }
  SECTION("HELO") { x.options.helo = "client.test" + bad; }
  SECTION("DSN NOTIFY") { x.mail.dsn_notify = "FAILURE" + bad; }
  SECTION("DSN RET") { x.mail.dsn_ret = bad + "HDRS"; }
  SECTION("ENVID") { x.mail.envid = "envelope" + bad; }
  x.server.ehlo = {"DSN", "PIPELINING"};
  const auto err = x.failure_of(Kind::kInvalidArgument);
  CHECK(x.transport.wire().empty());
  CHECK(x.transport.bytes_read() == 0);
}

TEST_CASE("MAIL FROM carries only the parameters the server offers", "[commands]") {
  const MailOptions m = mail_to({"bob@example.net"});
  const MessageFacts ascii{1234, false};
  const MessageFacts eight{1234, true};
  CHECK(mail_command(m, Capabilities{}, ascii) == "MAIL FROM:<alice@example.org>");
  CHECK(mail_command(m, Capabilities{}, eight) == "MAIL FROM:<alice@example.org>");
  CHECK(mail_command(mail_to({"b@x"}, ""), Capabilities{}, ascii) == "MAIL FROM:<>");

  Capabilities size;
  size.size_limit = 5000;
  CHECK(mail_command(m, size, ascii) == "MAIL FROM:<alice@example.org> SIZE=1234");

  Capabilities eightbit;
  eightbit.eight_bit_mime = true;
  CHECK(mail_command(m, eightbit, ascii) == "MAIL FROM:<alice@example.org>");
  CHECK(mail_command(m, eightbit, eight) == "MAIL FROM:<alice@example.org> BODY=8BITMIME");

  // ASCII addresses never ask for SMTPUTF8, even when offered.
  CHECK(mail_command(m, everything(), ascii) == "MAIL FROM:<alice@example.org> SIZE=1234");
}

TEST_CASE("non-ASCII addresses need SMTPUTF8", "[commands]") {
  const MailOptions utf8_from = mail_to({"bob@example.net"}, "j\xc3\xb6rg@example.org");
  const MailOptions utf8_to = mail_to({"bob@example.net", "\xe5\xbc\xa0@example.cn"});
  Capabilities utf8;
  utf8.smtputf8 = true;
  CHECK(mail_command(utf8_from, utf8, {10, false}) == "MAIL FROM:<j\xc3\xb6rg@example.org> SMTPUTF8");
  CHECK(mail_command(utf8_to, utf8, {10, false}) == "MAIL FROM:<alice@example.org> SMTPUTF8");
  CHECK(error_kind([&] { mail_command(utf8_from, Capabilities{}, {10, false}); }));
  CHECK(error_kind([&] { mail_command(utf8_to, Capabilities{}, {10, false}); }));
  CHECK(is_ascii("alice@example.org"));
  CHECK_FALSE(is_ascii("j\xc3\xb6rg"));
}

TEST_CASE("DSN parameters appear only when the server offers DSN", "[commands]") {
  MailOptions m = mail_to({"bob@example.net"});
  m.dsn_notify = "SUCCESS,FAILURE";
  m.dsn_ret = "HDRS";
  m.envid = "Q123+x=y z";
  Capabilities none;
  CHECK(mail_command(m, none, {10, false}) == "MAIL FROM:<alice@example.org>");
  CHECK(rcpt_command("bob@example.net", m, none) == "RCPT TO:<bob@example.net>");

  Capabilities dsn;
  dsn.dsn = true;
  CHECK(mail_command(m, dsn, {10, false}) == "MAIL FROM:<alice@example.org> RET=HDRS ENVID=Q123+2Bx+3Dy+20z");
  CHECK(rcpt_command("bob@example.net", m, dsn) == "RCPT TO:<bob@example.net> NOTIFY=SUCCESS,FAILURE");
  CHECK(mail_command(m, everything(), {10, true}) ==
        "MAIL FROM:<alice@example.org> SIZE=10 BODY=8BITMIME RET=HDRS ENVID=Q123+2Bx+3Dy+20z");

  MailOptions plain = mail_to({"bob@example.net"});
  CHECK(mail_command(plain, dsn, {10, false}) == "MAIL FROM:<alice@example.org>");
  CHECK(rcpt_command("bob@example.net", plain, dsn) == "RCPT TO:<bob@example.net>");
}

TEST_CASE("xtext encodes '+', '=', controls, space and non-ASCII as +HH", "[commands]") {
  CHECK(xtext_encode("") == "");
  CHECK(xtext_encode("abc-123_XYZ.@!~") == "abc-123_XYZ.@!~");
  CHECK(xtext_encode("a+b=c") == "a+2Bb+3Dc");
  CHECK(xtext_encode(" ") == "+20");
  CHECK(xtext_encode("\x7f") == "+7F");
  CHECK(xtext_encode(std::string(1, '\0')) == "+00");
  CHECK(xtext_encode("\t\r\n") == "+09+0D+0A");
  CHECK(xtext_encode("caf\xc3\xa9") == "caf+C3+A9");
  CHECK(xtext_encode("\xff") == "+FF");
}
