// The real socket transport against a silent loopback listener: interruption (what C-g and
// job cancellation use), deadlines, refused connections.
#include <chrono>
#include <optional>
#include <string>

#include "catch.hpp"
#include "support/loopback_listener.hpp"
#include "support/loopback_session.hpp"
#include "support/mail_options.hpp"
#include "net/error.hpp"
#include "net/socket_transport.hpp"
#include "smtp/error.hpp"
#include "smtp/session.hpp"

using namespace smtpn;

namespace {

// A listener on 127.0.0.1 that completes TCP handshakes (the backlog does) and never speaks.
struct SilentListener : smtpn::test::LoopbackListener {
  SilentListener() : LoopbackListener(8) {}
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Options for a session with SERVER, giving up after TIMEOUT seconds.
smtp::SessionOptions silent_session(const SilentListener& server, double timeout) {
  return test::loopback_session(server.port(), smtp::SessionOptions{}.stream_type, timeout);
}

// What send_mail threw with OPTIONS; nullopt when it returned (it cannot: nobody greets).
std::optional<smtp::SmtpError> session_failure(const smtp::SessionOptions& options) {
  try {
    smtp::send_mail(options, smtpn::test::mail_from_to("a@example.org", "b@example.org"), "x");
  } catch (const smtp::SmtpError& e) {
    return e;
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("an interrupt stops a wait long before its deadline", "[net][interrupt]") {
  SilentListener server;
  int polls = 0;
  auto transport = net::SocketTransport::connect("127.0.0.1", server.port(), net::Deadline::after_seconds(30),
                                                 [&] { return ++polls > 3; });
  char buf[16];
  const auto start = std::chrono::steady_clock::now();
  try {
    transport->read_some(buf, sizeof buf, net::Deadline::after_seconds(30));
    FAIL("read_some returned although the server never wrote");
  } catch (const net::NetError& e) {
    CHECK(e.kind() == net::NetError::Kind::kInterrupted);
  }
  CHECK(seconds_since(start) < 5.0);  // the deadline was 30 s away
  CHECK(polls > 3);
}

TEST_CASE("an interrupted session is reported as interrupted, not as a failure", "[net][interrupt]") {
  SilentListener server;
  smtp::SessionOptions options = silent_session(server, 30);
  int polls = 0;
  options.interrupt = [&] { return ++polls > 3; };
  const auto err = session_failure(options);
  REQUIRE(err);
  CHECK(err->kind() == smtp::SmtpError::Kind::kInterrupted);
}

TEST_CASE("a silent server runs into the greeting deadline", "[net][timeout]") {
  SilentListener server;
  const auto err = session_failure(silent_session(server, 0.2));
  REQUIRE(err);
  CHECK(err->kind() == smtp::SmtpError::Kind::kTimeout);
  CHECK(std::string(err->what()).find("greeting") != std::string::npos);
}

TEST_CASE("a refused connection names the address", "[net]") {
  std::string port;
  {
    SilentListener gone;  // bound and closed: nothing listens there now
    port = gone.port();
  }
  try {
    net::SocketTransport::connect("127.0.0.1", port, net::Deadline::after_seconds(5), nullptr);
    FAIL("connected to a closed port");
  } catch (const net::NetError& e) {
    CHECK(e.kind() == net::NetError::Kind::kConnect);
    CHECK(std::string(e.what()).find("127.0.0.1") != std::string::npos);
  }
}
