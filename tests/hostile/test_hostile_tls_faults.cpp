// A TLS connection that breaks: the peer vanishing while the client writes (no SIGPIPE may kill
// the host process: Emacs), a TLS EOF without close_notify (a closed connection, not an obscure
// TLS error) and any breakage after the final "." (delivery status unknown, never "failed").
#include <csignal>
#include <string>

#include "catch.hpp"
#include "hostile_client.hpp"
#include "hostile_server.hpp"

using namespace smtpn;
using namespace smtpn::hostile;
using Kind = smtp::SmtpError::Kind;

namespace {

volatile std::sig_atomic_t sigpipes = 0;
extern "C" void count_sigpipe(int) { sigpipes = sigpipes + 1; }

// Counts SIGPIPEs while alive instead of letting the default action end the test process
// (the write still fails with EPIPE either way, so the client sees the same thing).
class SigpipeCounter {
 public:
  SigpipeCounter() {
    sigpipes = 0;
    struct sigaction action {};
    action.sa_handler = count_sigpipe;
    sigemptyset(&action.sa_mask);
    sigaction(SIGPIPE, &action, &previous_);
  }
  ~SigpipeCounter() { sigaction(SIGPIPE, &previous_, nullptr); }
  int count() const { return sigpipes; }

 private:
  struct sigaction previous_ {};
};

// Up to DATA's 354 inside TLS.
bool open_data(Connection& c) {
  if (!open_starttls(c, {"PIPELINING"})) return false;
  answer_ehlo(c, {"PIPELINING"});
  c.expect("MAIL FROM:");
  c.reply("250 ok");
  c.expect("RCPT TO:");
  c.reply("250 ok");
  c.expect("DATA");
  c.reply("354 go ahead");
  return true;
}

}  // namespace

TEST_CASE("the server vanishing while the client writes over TLS raises no SIGPIPE",
          "[hostile][tls][fault]") {
  SigpipeCounter counter;
  HostileServer server([](Connection& c) {
    if (!open_data(c)) return;
    c.read_line();  // the message has started to arrive
    // FIN, then RST: the client's socket is in CLOSE_WAIT when the reset comes, so its next
    // write fails with EPIPE, which raises SIGPIPE unless the write asked not to.
    c.shutdown_write();
    c.sleep(20);
    c.reset();
  });
  const std::string message = "Subject: big\r\n\r\n" + std::string(8 << 20, 'x') + "\r\n";
  const auto [out, rec] = send_to(server, hostile_options(server.port()), hostile_mail(), message);
  REQUIRE(rec.tls_established);
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kConnection);
  CHECK(counter.count() == 0);
}

TEST_CASE("a TLS EOF without close_notify is a closed connection, as is a clean close", "[hostile][tls][fault]") {
  const HangUp how = GENERATE(HangUp::kFin, HangUp::kCloseNotify);
  INFO(hang_up_name(how));
  HostileServer server([how](Connection& c) {
    if (!open_starttls(c, {"PIPELINING"})) return;
    answer_ehlo(c, {"PIPELINING"});
    c.expect("MAIL FROM:");
    hang_up(c, how);
  });
  const Outcome out = run_send(hostile_options(server.port()));
  server.finish();
  REQUIRE(out.error);
  INFO(out.error_text());
  CHECK(out.error->kind() == Kind::kConnection);
  CHECK(contains(out.error_text(), "closed"));
}

TEST_CASE("any TLS breakage after the final dot leaves delivery status unknown", "[hostile][tls][fault]") {
  SECTION("EOF without close_notify, or a reset") {
    const HangUp how = GENERATE(HangUp::kFin, HangUp::kReset);
    HostileServer server([how](Connection& c) {
      if (!open_data(c) || !c.read_data()) return;
      hang_up(c, how);
    });
    const Outcome out = run_send(hostile_options(server.port()));
    server.finish();
    REQUIRE(out.error);
    INFO(out.error_text() << " (" << hang_up_name(how) << ")");
    CHECK(out.error->kind() == Kind::kConnection);
    CHECK(contains(out.error_text(), "delivery status unknown"));
  }
  SECTION("garbage in place of a TLS record") {
    HostileServer server([](Connection& c) {
      if (!open_data(c) || !c.read_data()) return;
      c.send_raw("250 2.0.0 queued, says a man in the middle\r\n");
      c.wait_for_close();
    });
    const Outcome out = run_send(hostile_options(server.port()));
    server.finish();
    REQUIRE(out.error);
    INFO(out.error_text());
    CHECK(contains(out.error_text(), "delivery status unknown"));
    CHECK_FALSE(out.traced("man in the middle"));
  }
  SECTION("silence until the deadline") {
    HostileServer server([](Connection& c) {
      if (!open_data(c) || !c.read_data()) return;
      c.wait_for_close();
    });
    smtp::SessionOptions options = hostile_options(server.port());
    options.timeout_seconds = 0.2;  // DATA termination waits twice this
    const Outcome out = run_send(options);
    server.finish();
    REQUIRE(out.error);
    INFO(out.error_text());
    CHECK(out.error->kind() == Kind::kTimeout);
    CHECK(contains(out.error_text(), "delivery status unknown"));
  }
}
