// Command injection through the envelope: a CR, LF or NUL in the sender, a recipient, the HELO
// name or a DSN value (an address pasted from a web page, a header an attacker wrote) must be
// refused before anything is written, never turned into an extra command. Each scenario makes
// the poisoned send, then a clean one to the same server: the server, which serves exactly one
// connection, must see only the clean transaction.
#include <string>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;

namespace {

struct Poison {
  const char* field;
  const char* control;  // "CR", "LF" or "NUL", as the error names it
  std::string value;
};

}  // namespace

TEST_CASE("CR, LF or NUL in the envelope or HELO is refused, nothing is injected", "[hostile][injection]") {
  const Poison poison = GENERATE(values<Poison>({
      {"sender", "CR", "alice@example.org\r\nRCPT TO:<evil@attacker.test>"},
      {"sender", "LF", "alice@example.org\nRSET"},
      {"sender", "NUL", std::string("alice@example.org\0RSET", 22)},
      {"recipient", "LF", "bob@example.net\nRCPT TO:<evil@attacker.test>"},
      {"recipient", "CR", "bob@example.net\rDATA"},
      {"recipient", "NUL", std::string("bob@example.net\0evil", 20)},
      {"helo", "CR", "client.test\r\nMAIL FROM:<evil@attacker.test>"},
      {"helo", "NUL", std::string("client.test\0evil", 16)},
      {"envid", "LF", "id42\nRSET"},
      {"notify", "CR", "SUCCESS\r\nRSET"},
      {"ret", "LF", "FULL\nRSET"},
  }));
  INFO(poison.field << " with " << poison.control);

  std::string payload;
  HostileServer server([&payload](Connection& c) {
    greet(c);
    answer_ehlo(c, {"PIPELINING", "DSN"});
    payload = serve_transaction(c);
  });
  smtp::SessionOptions options = plain_options(server.port());
  smtp::MailOptions mail = hostile_mail();
  const std::string field = poison.field;
  if (field == "sender") mail.from = poison.value;
  if (field == "recipient") mail.recipients = {"carol@example.net", poison.value};
  if (field == "helo") options.helo = poison.value;
  if (field == "envid") mail.envid = poison.value;
  if (field == "notify") mail.dsn_notify = poison.value;
  if (field == "ret") mail.dsn_ret = poison.value;

  const Outcome poisoned = run_send(options, mail);
  const Outcome clean = run_send(plain_options(server.port()));
  const Record& rec = server.finish();

  REQUIRE(poisoned.error);
  INFO(poisoned.error_text());
  CHECK(poisoned.error->kind() == Kind::kInvalidArgument);
  CHECK(poisoned.error_text().find(std::string(" contains ") + poison.control) != std::string::npos);
  CHECK(poisoned.trace.empty());  // refused before connecting: not one byte went out

  INFO(clean.error_text());
  REQUIRE(clean.result);
  CHECK(rec.lines == one_transaction_lines());
  CHECK(rec.before_tls.find("evil") == std::string::npos);
  CHECK(rec.before_tls.find("RSET") == std::string::npos);
  CHECK(rec.before_tls.find('\0') == std::string::npos);
}

TEST_CASE("in a batch, the poisoned message is refused and the others go out clean", "[hostile][injection]") {
  std::vector<std::string> payloads;
  HostileServer server([&payloads](Connection& c) {
    greet(c);
    answer_ehlo(c, {"PIPELINING"});
    // Answers whatever comes, as a lenient server would, until QUIT.
    for (auto line = c.read_line(); line; line = c.read_line()) {
      if (*line == "QUIT") return c.reply("221 bye");
      if (*line != "DATA") {
        c.reply("250 ok");
        continue;
      }
      c.reply("354 go ahead");
      auto data = c.read_data();
      if (!data) return;
      payloads.push_back(*data);
      c.reply("250 queued");
    }
  });
  smtp::MailOptions poisoned = hostile_mail();
  poisoned.recipients = {"bob@example.net>\r\nRCPT TO:<evil@attacker.test"};
  const std::vector<smtp::BatchItem> items{
      {hostile_mail(), kMessage}, {poisoned, kMessage}, {hostile_mail(), kMessage}};
  const auto outcomes = smtp::send_batch(plain_options(server.port()), items);
  const Record& rec = server.finish();

  INFO(rec.script_error);
  REQUIRE(outcomes.size() == 3);
  CHECK(outcomes[0].result);
  REQUIRE(outcomes[1].error);
  CHECK(outcomes[1].error->kind() == Kind::kInvalidArgument);
  CHECK(outcomes[2].result);
  CHECK(payloads.size() == 2);
  CHECK(rec.before_tls.find("evil") == std::string::npos);
  for (const auto& line : rec.lines) {
    const bool a_recipient = line.rfind("RCPT TO:", 0) == 0;
    if (a_recipient) CHECK(line == "RCPT TO:<bob@example.net>");
  }
}
