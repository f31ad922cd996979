// The outcome contract of a session: every failure carries the phase it happened in and what
// became of the message (not sent before the final dot, unknown after it unless the server's
// verdict was read), the refused recipients, the mechanism, the host; results say sent or
// partial. C-g (the interrupt check) and a caller's callback that stops the session.
#include <algorithm>
#include <string>
#include <vector>

#include "catch.hpp"
#include "scripted_transport.hpp"
#include "smtp/session.hpp"
#include "support/session_names.hpp"

namespace {

bool sent_line(const Exchange& x, std::string_view line) {
  const auto& l = x.transport.lines();
  return std::find(l.begin(), l.end(), line) != l.end();
}

const char* phase_of(const SmtpError& e) { return e.phase ? smtpn::smtp::phase_symbol(*e.phase) : "none"; }
const char* delivery_of(Delivery d) {
  const char* name = smtpn::smtp::delivery_symbol(d);
  return name ? name : "none";
}

}  // namespace

TEST_CASE("a failure carries its phase and delivery, decided in one place", "[session][outcome]") {
  // Where the server answers COMMAND's line (or greets, when COMMAND is empty) with ANSWER.
  struct Case {
    const char* name;
    const char* command;
    smtpn::test::Answer answer;
    const char* phase;
    const char* delivery;
  };
  const Case cases[] = {
      {"greeting refused", "", "554 5.3.2 go away", "greeting", "not-sent"},
      {"EHLO refused", "EHLO", "421 4.3.2 busy", "hello", "not-sent"},
      {"sender refused", "MAIL", "550 5.7.1 no", "envelope", "not-sent"},
      {"DATA refused", "DATA", "554 5.5.1 no valid recipients", "data", "not-sent"},
      {"final reply refused: a verdict", ".", "554 5.7.1 spam", "data", "not-sent"},
      {"hang-up after the final dot", ".", hang_up(), "data", "unknown"},
      {"a broken final reply", ".", as_is("2x0 what\r\n"), "data", "unknown"},
      {"a final reply that is neither yes nor no", ".", "354 again?", "data", "unknown"},
  };
  Exchange x;
  std::string phase, delivery;
  for (const Case& c : cases) DYNAMIC_SECTION(c.name) {
      if (*c.command)
        x.server.on(c.command, {c.answer});
      else
        x.server.greeting = c.answer;
      phase = c.phase, delivery = c.delivery;
    }
  const auto err = x.failure();
  REQUIRE(err);
  INFO(err->what());
  CHECK(phase_of(*err) == phase);
  CHECK(delivery_of(err->delivery) == delivery);
  CHECK(err->host == "mx.test");
  CHECK(err->port == "25");
}

TEST_CASE("refused recipients travel with the error; a partial send says partial", "[session][outcome]") {
  Exchange x;
  x.mail.recipients = {"bob@example.net", "carol@example.com"};
  x.server.on("RCPT TO:<carol@", {"550 5.1.1 no such user"});
  SECTION("all or nothing") {
    const auto err = x.failure();
    REQUIRE(err);
    CHECK(err->delivery == Delivery::kNotSent);
    REQUIRE(err->rejected.size() == 1);
    CHECK(err->rejected[0].recipient == "carol@example.com");
    CHECK(err->rejected[0].reply.code == 550);
    CHECK(err->rejected[0].reply.enhanced == "5.1.1");
  }
  SECTION("allow partial") {
    x.mail.allow_partial = true;
    const auto r = x.send();
    CHECK(r.delivery == Delivery::kPartial);
    CHECK(r.host == "mx.test");
  }
}

TEST_CASE("a whole send says sent, with the mechanism; an error after AUTH names it", "[session][outcome]") {
  Exchange x;
  x.server.ehlo = {"AUTH PLAIN"};
  x.options.user = "tim";
  x.options.plaintext_auth = smtpn::smtp::PlaintextAuth::kAlways;
  x.options.password = [] { return smtpn::crypto::Secret(std::string_view("pw")); };
  SECTION("sent") {
    const auto r = x.send();
    CHECK(r.delivery == Delivery::kSent);
    CHECK(r.mechanism == "PLAIN");
  }
  SECTION("refused later") {
    x.server.on("MAIL", {"451 4.3.0 later"});
    const auto err = x.failure();
    REQUIRE(err);
    CHECK(err->auth == "PLAIN");
    CHECK(phase_of(*err) == std::string("envelope"));
  }
}

TEST_CASE("C-g: before the final dot not sent, during the final reply unknown, after it sent",
          "[session][outcome][interrupt]") {
  Exchange x;
  SECTION("before the dot") {
    x.transport.interrupt = [&x] { return sent_line(x, "DATA"); };
    const auto err = x.failure_of(Kind::kInterrupted);
    CHECK(err->delivery == Delivery::kNotSent);
    CHECK(x.transport.messages().empty());
  }
  SECTION("while the final reply is awaited") {
    x.transport.interrupt = [&x] { return !x.transport.messages().empty(); };
    const auto err = x.failure_of(Kind::kInterrupted);
    CHECK(err->delivery == Delivery::kUnknown);
    CHECK(phase_of(*err) == std::string("data"));
  }
  SECTION("once the final 250 was read (during QUIT)") {
    x.transport.interrupt = [&x] { return sent_line(x, "QUIT"); };
    const auto r = x.send();
    CHECK(r.delivery == Delivery::kSent);
    CHECK(r.final_reply.code == 250);
  }
}

TEST_CASE("a callback that stops the session: QUIT is sent, the message not", "[session][outcome]") {
  Exchange x;
  x.server.ehlo = {"AUTH PLAIN"};
  x.options.user = "tim";
  x.options.plaintext_auth = smtpn::smtp::PlaintextAuth::kAlways;
  int asked = 0;
  x.options.password = [&asked]() -> smtpn::crypto::Secret {
    ++asked;
    throw CallbackAbort{};
  };
  const auto err = x.failure_of(Kind::kInterrupted);
  CHECK(err->delivery == Delivery::kNotSent);
  CHECK(phase_of(*err) == std::string("auth"));
  CHECK(asked == 1);
  CHECK(x.transport.lines().back() == "QUIT");
  CHECK_FALSE(sent_line(x, "MAIL FROM:<alice@example.org>"));
}

TEST_CASE("a hook that stops the session after the message was accepted cannot undo it",
          "[session][outcome]") {
  Exchange x;
  x.options.progress = [](Phase phase, std::size_t, std::size_t) {
    if (phase == Phase::kQuit) throw CallbackAbort{};
  };
  const auto r = x.send();
  CHECK(r.delivery == Delivery::kSent);
  CHECK(x.transport.lines().back() == "QUIT");
}

TEST_CASE("a batch: messages after a lost session are not sent; each outcome is stamped",
          "[session][outcome][batch]") {
  Exchange x;
  x.server.on("MAIL", {"250 ok"});
  x.server.on("MAIL", {"550 5.7.1 not you"});
  x.server.on("MAIL", {hang_up()});
  x.prepare();
  smtpn::smtp::Session session(x.transport, x.options);
  std::vector<BatchItem> items(4, BatchItem{x.mail, kMessage});
  const auto outcomes = session.send_batch(items);
  REQUIRE(outcomes.size() == 4);
  REQUIRE(outcomes[0].result);
  CHECK(outcomes[0].result->delivery == Delivery::kSent);
  REQUIRE(outcomes[1].error);
  CHECK(outcomes[1].error->delivery == Delivery::kNotSent);
  CHECK(phase_of(*outcomes[1].error) == std::string("envelope"));
  REQUIRE(outcomes[2].error);
  CHECK(outcomes[2].error->delivery == Delivery::kNotSent);
  REQUIRE(outcomes[3].error);
  CHECK(outcomes[3].error->delivery == Delivery::kNotSent);
  CHECK(outcomes[3].error->host == "mx.test");
}

TEST_CASE("a batch whose connection failed: a callback that stops it reads as interrupted, nothing sent",
          "[session][outcome][batch]") {
  smtpn::smtp::SessionOptions options;
  options.host = "127.0.0.1";
  options.port = "1";  // nothing listens: refused at once
  options.timeout_seconds = 5;
  smtpn::smtp::MailOptions mail;
  mail.from = "a@example.org";
  mail.recipients = {"b@example.org"};
  const std::vector<BatchItem> items(2, BatchItem{mail, kMessage});
  std::size_t called = 0;
  try {
    smtpn::smtp::send_batch(options, items, [&](std::size_t, const smtpn::smtp::BatchOutcome&) {
      ++called;
      throw CallbackAbort{};
    });
    FAIL("no error");
  } catch (const SmtpError& e) {
    CHECK(e.kind() == Kind::kInterrupted);
    CHECK(e.delivery == Delivery::kNotSent);
  }
  CHECK(called == 1);
}
