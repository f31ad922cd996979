// A server that goes away, refuses with 421, rejects some recipients or is too slow, at each
// step of a send: the client ends with an error that says what happened, never hangs, never
// reports a mail as sent that was not — and once the message's final "." has gone out, a
// broken connection is "delivery status unknown", not a failure to resend blindly.
#include <algorithm>
#include <atomic>
#include <functional>
#include <string>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;

namespace {

enum class Step { kGreeting, kEhlo, kMail, kRcpt, kData, kMidData, kDot };

const char* step_name(Step step) {
  switch (step) {
    case Step::kGreeting: return "greeting";
    case Step::kEhlo: return "EHLO";
    case Step::kMail: return "MAIL";
    case Step::kRcpt: return "RCPT";
    case Step::kData: return "DATA";
    case Step::kMidData: return "in the middle of the message";
    case Step::kDot: return "after the final dot";
  }
  return "";
}

// The good server's dialogue after its greeting: each step's command and its answer.
struct StepExchange {
  Step step;
  const char* command;
  const char* answer;
};
constexpr StepExchange kDialogue[] = {
    {Step::kEhlo, "EHLO ", "250 hostile.test"},
    {Step::kMail, "MAIL FROM:", "250 ok"},
    {Step::kRcpt, "RCPT TO:", "250 ok"},
    {Step::kData, "DATA", "354 go ahead"},
};

// Plays a good server (no PIPELINING, so one command at a time) up to STEP and there does
// FAULT instead of answering.
void fault_at(Connection& c, Step step, const std::function<void(Connection&)>& fault) {
  if (step == Step::kGreeting) return fault(c);
  greet(c);
  for (const auto& [at, command, answer] : kDialogue) {
    c.expect(command);
    if (step == at) return fault(c);
    c.reply(answer);
  }
  if (step == Step::kMidData) {
    c.expect("From:");  // the message has started; the client is still writing it
    return fault(c);
  }
  if (!c.read_data()) throw ScriptAbort("the message did not arrive");
  fault(c);
}

// Big enough that the client is still writing when the server drops in the middle of it.
std::string big_message() {
  std::string m = "From: alice@example.org\r\nSubject: big\r\n\r\n";
  while (m.size() < 8 * 1024 * 1024) m += std::string(998, 'x') + "\r\n";
  return m;
}

Outcome send_with_fault(Step step, const std::function<void(Connection&)>& fault, Record* record = nullptr) {
  HostileServer server([&](Connection& c) { fault_at(c, step, fault); });
  const std::string message = step == Step::kMidData ? big_message() : std::string(kMessage);
  Outcome out = run_send(plain_options(server.port()), hostile_mail(), message);
  const Record& rec = server.finish();
  if (record) *record = rec;
  return out;
}

}  // namespace

TEST_CASE("a server hanging up at each step: a connection error that says whether it was sent",
          "[hostile][disconnect]") {
  const Step step = GENERATE(Step::kGreeting, Step::kEhlo, Step::kMail, Step::kRcpt, Step::kData, Step::kMidData,
                             Step::kDot);
  const HangUp how = GENERATE(HangUp::kFin, HangUp::kReset);
  INFO("hang-up " << step_name(step) << " (" << hang_up_name(how) << ")");
  Record rec;
  const Outcome out = send_with_fault(
      step,
      [how, step](Connection& c) {
        if (step == Step::kEhlo) c.send("250-hostile.test\r\n250-SIZE 100");  // a reply cut short
        hang_up(c, how);
      },
      &rec);
  INFO(out.error_text());
  INFO(rec.script_error);
  CHECK(rec.script_error.empty());
  REQUIRE(out.error);
  CHECK(out.error->kind() == Kind::kConnection);
  CHECK(out.seconds < 1.0);  // noticed at once, not by a timeout
  // After its FIN the script still reads what the client sends (a half-close), so in the middle
  // of the message a FIN still lets the whole message, dot included, reach the server: then the
  // client cannot know either. An RST there stops the client's writes: not sent.
  const bool message_reached_server = step == Step::kDot || (step == Step::kMidData && how != HangUp::kReset);
  if (message_reached_server) {
    CHECK(contains(out.error_text(), "delivery status unknown"));
  } else {
    CHECK(contains(out.error_text(), "the message was not sent"));  // safe to send again
    CHECK_FALSE(contains(out.error_text(), "delivery status unknown"));
  }
}

TEST_CASE("421 at each step is a temporary error carrying the server's reply", "[hostile][disconnect]") {
  const Step step = GENERATE(Step::kGreeting, Step::kEhlo, Step::kMail, Step::kRcpt, Step::kData, Step::kDot);
  INFO("421 at " << step_name(step));
  Record rec;
  const Outcome out = send_with_fault(
      step, [](Connection& c) { c.reply("421 4.3.2 hostile.test shutting down"); }, &rec);
  INFO(out.error_text());
  REQUIRE(out.error);
  CHECK(out.error->kind() == Kind::kTemporary);
  CHECK(out.error->code() == 421);
  CHECK(out.error->enhanced_status() == "4.3.2");
  CHECK(contains(out.error_text(), "shutting down"));
  CHECK(out.seconds < 1.0);
  // Nothing is sent after a 421 but, at most, a QUIT.
  const auto at = std::find_if(rec.lines.begin(), rec.lines.end(), [](const std::string& l) { return l == "QUIT"; });
  CHECK(rec.lines.end() - at <= 1);
}

TEST_CASE("one recipient of three refused", "[hostile][disconnect]") {
  const bool allow_partial = GENERATE(false, true);
  INFO((allow_partial ? ":allow-partial" : "all or nothing"));
  std::string payload;
  HostileServer server([&payload](Connection& c) {
    greet(c);
    answer_ehlo(c, {"8BITMIME"});
    c.expect("MAIL FROM:");
    c.reply("250 ok");
    for (const char* who : {"bob", "mallory", "carol"}) {
      const std::string line = c.expect("RCPT TO:");
      c.reply(contains(line, who) && std::string(who) == "mallory" ? "550 5.1.1 no such user" : "250 ok");
    }
    for (auto line = c.read_line(); line; line = c.read_line()) {
      if (*line == "QUIT") return c.reply("221 bye");
      if (*line == "RSET") {
        c.reply("250 reset");
      } else if (*line == "DATA") {
        c.reply("354 go ahead");
        if (auto data = c.read_data()) payload = *data;
        c.reply("250 queued");
      } else {
        throw ScriptAbort("unexpected \"" + *line + "\"");
      }
    }
  });
  smtp::MailOptions mail = hostile_mail();
  mail.recipients = {"bob@example.net", "mallory@example.net", "carol@example.net"};
  mail.allow_partial = allow_partial;
  const auto [out, rec] = send_to(server, plain_options(server.port()), mail);
  INFO(out.error_text());
  INFO(rec.script_error);
  CHECK(rec.script_error.empty());
  if (allow_partial) {
    REQUIRE(out.result);
    CHECK(out.result->accepted == std::vector<std::string>{"bob@example.net", "carol@example.net"});
    REQUIRE(out.result->rejected.size() == 1);
    CHECK(out.result->rejected[0].recipient == "mallory@example.net");
    CHECK(out.result->rejected[0].reply.code == 550);
    CHECK(payload == std::string(kMessage) + ".\r\n");
  } else {
    REQUIRE(out.error);
    CHECK(out.error->kind() == Kind::kPermanent);
    CHECK(out.error->code() == 550);
    CHECK(contains(out.error_text(), "mallory@example.net"));
    CHECK(payload.empty());  // no DATA: nobody got the mail
    CHECK(std::find(rec.lines.begin(), rec.lines.end(), "DATA") == rec.lines.end());
  }
}

TEST_CASE("a server slower than the timeout: a timeout error, in time", "[hostile][disconnect]") {
  const Step step = GENERATE(Step::kGreeting, Step::kMail, Step::kDot);
  INFO("silent at " << step_name(step));
  HostileServer server([step](Connection& c) { fault_at(c, step, [](Connection& s) { s.sleep(500); }); });
  smtp::SessionOptions options = plain_options(server.port());
  options.timeout_seconds = 0.15;  // the final reply's wait is twice that
  const Outcome out = run_send(options);
  server.finish();
  INFO(out.error_text());
  REQUIRE(out.error);
  CHECK(out.seconds < 0.5);  // gave up before the server woke, within its own deadline
  CHECK(out.error->kind() == Kind::kTimeout);
  if (step == Step::kDot)
    CHECK(contains(out.error_text(), "delivery status unknown"));
  else
    CHECK(contains(out.error_text(), "the message was not sent"));
}

TEST_CASE("C-g before the final dot: not sent; after it: delivery status unknown", "[hostile][disconnect]") {
  const Step step = GENERATE(Step::kMail, Step::kDot);
  INFO("C-g while the server sits " << step_name(step));
  HostileServer server([step](Connection& c) { fault_at(c, step, [](Connection& s) { s.wait_for_close(); }); });
  smtp::SessionOptions options = plain_options(server.port());
  std::atomic<bool> interrupted{false};
  options.interrupt = [&interrupted] { return interrupted.load(); };
  // C-g once the envelope has begun, or once the whole message (its dot included) is written.
  options.progress = [&interrupted, step](smtp::Phase phase, std::size_t sent, std::size_t total) {
    if (step == Step::kMail && phase == smtp::Phase::kEnvelope) interrupted = true;
    if (step == Step::kDot && phase == smtp::Phase::kData && total > 0 && sent == total) interrupted = true;
  };
  const auto [out, rec] = send_to(server, options);
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kInterrupted);
  if (step == Step::kDot) {
    CHECK(contains(out.error_text(), "delivery status unknown"));
    CHECK(contains(rec.before_tls, std::string(kMessage) + ".\r\n"));
  } else {
    CHECK(contains(out.error_text(), "the message was not sent"));
  }
}
