// smtp::parse_capabilities: what an EHLO reply advertises — AUTH (and the legacy AUTH= form),
// SIZE in all its shapes, every flag we act on, case-insensitively, greeting line excluded.
#include <string>
#include <vector>

#include "catch.hpp"
#include "smtp/capabilities.hpp"

using smtpn::smtp::Capabilities;
using smtpn::smtp::parse_capabilities;
using smtpn::smtp::Reply;
using Names = std::vector<std::string>;

namespace {

Capabilities caps_of(std::vector<std::string> keyword_lines, std::string greeting = "mx.test Hello") {
  Reply r;
  r.code = 250;
  r.lines.push_back(std::move(greeting));
  for (auto& l : keyword_lines) r.lines.push_back(std::move(l));
  return parse_capabilities(r);
}

}  // namespace

TEST_CASE("a bare EHLO reply advertises nothing", "[capabilities]") {
  const Capabilities c = caps_of({});
  CHECK(c.lines.empty());
  CHECK(c.auth_mechanisms.empty());
  CHECK_FALSE(c.starttls);
  CHECK_FALSE(c.pipelining);
  CHECK_FALSE(c.eight_bit_mime);
  CHECK_FALSE(c.smtputf8);
  CHECK_FALSE(c.dsn);
  CHECK_FALSE(c.chunking);
  CHECK_FALSE(c.enhanced_status_codes);
  CHECK_FALSE(c.size_limit.has_value());
}

TEST_CASE("the greeting line is not a capability", "[capabilities]") {
  const Capabilities c = caps_of({"8BITMIME"}, "STARTTLS AUTH PLAIN");
  CHECK(c.lines == Names{"8BITMIME"});
  CHECK_FALSE(c.starttls);
  CHECK(c.auth_mechanisms.empty());
}

TEST_CASE("every flag is recognised, in any case", "[capabilities]") {
  const bool upper = GENERATE(true, false);
  Names lines{"STARTTLS", "PIPELINING", "8BITMIME", "SMTPUTF8", "DSN", "CHUNKING", "ENHANCEDSTATUSCODES"};
  if (!upper)
    lines = {"starttls", "Pipelining", "8bitmime", "SmtpUtf8", "dsn", "chunking", "EnhancedStatusCodes"};
  const Capabilities c = caps_of(lines);
  CHECK(c.lines == lines);
  CHECK(c.starttls);
  CHECK(c.pipelining);
  CHECK(c.eight_bit_mime);
  CHECK(c.smtputf8);
  CHECK(c.dsn);
  CHECK(c.chunking);
  CHECK(c.enhanced_status_codes);
  CHECK(c.has_keyword("Starttls"));
  CHECK(c.has_keyword("dsn"));
}

TEST_CASE("each flag comes from its own keyword only", "[capabilities]") {
  CHECK(caps_of({"STARTTLS"}).starttls);
  CHECK_FALSE(caps_of({"STARTTLS"}).pipelining);
  CHECK_FALSE(caps_of({"XSTARTTLS"}).starttls);
  CHECK_FALSE(caps_of({"8BITMIMEX"}).eight_bit_mime);
  CHECK_FALSE(caps_of({"X-PIPELINING"}).pipelining);
  CHECK_FALSE(caps_of({"SIZE 100"}).has_keyword("SIZ"));
  CHECK_FALSE(caps_of({"SIZEX 100"}).has_keyword("SIZE"));
  CHECK(caps_of({"SIZE 100"}).has_keyword("size"));
}

TEST_CASE("AUTH lists the mechanisms in upper case, without duplicates", "[capabilities]") {
  CHECK(caps_of({"AUTH PLAIN LOGIN CRAM-MD5"}).auth_mechanisms == Names{"PLAIN", "LOGIN", "CRAM-MD5"});
  CHECK(caps_of({"auth plain Login cram-md5"}).auth_mechanisms == Names{"PLAIN", "LOGIN", "CRAM-MD5"});
  CHECK(caps_of({"AUTH  PLAIN\tLOGIN "}).auth_mechanisms == Names{"PLAIN", "LOGIN"});
  CHECK(caps_of({"AUTH"}).auth_mechanisms.empty());
  CHECK(caps_of({"AUTH PLAIN PLAIN plain"}).auth_mechanisms == Names{"PLAIN"});
  CHECK_FALSE(caps_of({"AUTHX PLAIN"}).offers_mechanism("PLAIN"));

  const Capabilities c = caps_of({"AUTH LOGIN CRAM-MD5"});
  CHECK(c.offers_mechanism("LOGIN"));
  CHECK(c.offers_mechanism("cram-md5"));
  CHECK_FALSE(c.offers_mechanism("PLAIN"));
}

TEST_CASE("the legacy AUTH= form adds its mechanisms too", "[capabilities]") {
  CHECK(caps_of({"AUTH=LOGIN"}).auth_mechanisms == Names{"LOGIN"});
  CHECK(caps_of({"AUTH=LOGIN PLAIN"}).auth_mechanisms == Names{"LOGIN", "PLAIN"});
  CHECK(caps_of({"auth=login"}).auth_mechanisms == Names{"LOGIN"});
  // Servers of the 2000s send both; the union counts once.
  CHECK(caps_of({"AUTH PLAIN LOGIN", "AUTH=LOGIN"}).auth_mechanisms == Names{"PLAIN", "LOGIN"});
  CHECK(caps_of({"AUTH=LOGIN", "AUTH CRAM-MD5 LOGIN"}).auth_mechanisms == Names{"LOGIN", "CRAM-MD5"});
}

TEST_CASE("SIZE gives a limit only when it is a positive number", "[capabilities]") {
  CHECK(caps_of({"SIZE 35882577"}).size_limit == 35882577u);
  CHECK(caps_of({"size 1"}).size_limit == 1u);
  CHECK(caps_of({"SIZE 18446744073709551615"}).size_limit == 18446744073709551615u);

  const std::string no_limit =
      GENERATE(as<std::string>{}, "SIZE", "SIZE 0", "SIZE abc", "SIZE 12abc", "SIZE -1", "SIZE +5",
               "SIZE 1.5", "SIZE 0x10", "SIZE 99999999999999999999999");
  CAPTURE(no_limit);
  const Capabilities c = caps_of({no_limit});
  CHECK_FALSE(c.size_limit.has_value());
  CHECK(c.has_keyword("SIZE"));
}
