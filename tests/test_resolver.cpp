// Name resolution under the deadline, abandoned on interrupt (C-g, a job's cancel): with a
// lookup that hangs (injected through net::set_lookup_for_tests), the connect ends in
// bounded time, the session reports a timeout or an interruption, and a Runner whose worker
// is stuck resolving is destroyed (as at Emacs's exit) without waiting for the lookup.
#include <netdb.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "catch.hpp"
#include "common/byte_buffer.hpp"
#include "jobs/runner.hpp"
#include "net/error.hpp"
#include "net/resolver.hpp"
#include "smtp/error.hpp"
#include "smtp/session.hpp"
#include "support/mail_options.hpp"

using namespace smtpn;
using Clock = std::chrono::steady_clock;
using NetKind = net::NetError::Kind;

namespace {

std::atomic<bool> release_lookups{false};
std::atomic<int> lookups_started{0};

// A resolver that does not answer for 20 s (or until the test releases it), then fails.
int hanging_lookup(const char*, const char*, const addrinfo*, addrinfo**) {
  ++lookups_started;
  const auto until = Clock::now() + std::chrono::seconds(20);
  while (!release_lookups.load() && Clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return EAI_AGAIN;
}

struct HangingResolver {
  HangingResolver() {
    release_lookups = false;
    lookups_started = 0;
    net::set_lookup_for_tests(hanging_lookup);
  }
  ~HangingResolver() {
    net::set_lookup_for_tests(nullptr);
    release_lookups = true;  // the abandoned threads end and free their state
  }
};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The kind of NetError resolving HOST and PORT ends with; the test fails if it resolves.
NetKind failure_resolving(const char* host, const char* port, net::Deadline deadline,
                          const net::InterruptCheck& interrupt = nullptr) {
  try {
    net::resolve(host, port, deadline, interrupt);
  } catch (const net::NetError& e) {
    return e.kind();
  }
  FAIL("resolved " << host << " " << port);
  return NetKind::kResolve;  // not reached: FAIL throws
}

smtp::SessionOptions options_for(const char* host) {
  smtp::SessionOptions o;
  o.host = host;
  o.port = "25";
  o.stream_type = smtp::StreamType::kPlain;
  return o;
}

}  // namespace

TEST_CASE("resolving still works and fails as before", "[resolver]") {
  const auto list = net::resolve("127.0.0.1", "25", net::Deadline::after_seconds(5), nullptr);
  REQUIRE(list);
  CHECK(list->ai_socktype == SOCK_STREAM);
  CHECK(failure_resolving("no such host.invalid", "25", net::Deadline::after_seconds(5)) ==
        NetKind::kResolve);
}

TEST_CASE("an address literal is answered without a lookup", "[resolver]") {
  // With every lookup hanging, literals still resolve at once: no thread, no lookup.
  const HangingResolver hang;
  const auto start = Clock::now();
  for (const char* literal : {"127.0.0.1", "::1"}) {
    const auto list = net::resolve(literal, "587", net::Deadline::after_seconds(5), nullptr);
    REQUIRE(list);
    CHECK(list->ai_socktype == SOCK_STREAM);
    CHECK(list->ai_family == (literal[0] == ':' ? AF_INET6 : AF_INET));
  }
  CHECK(seconds_since(start) < 0.5);
  CHECK(lookups_started == 0);
  // A service name is not numeric: that one is looked up (and here hangs to the deadline).
  CHECK(failure_resolving("127.0.0.1", "submission", net::Deadline::after_seconds(0.2)) == NetKind::kTimeout);
  CHECK(lookups_started == 1);
}

TEST_CASE("a hanging lookup ends at the deadline", "[resolver]") {
  const HangingResolver hang;
  const auto start = Clock::now();
  CHECK(failure_resolving("mx.example.org", "25", net::Deadline::after_seconds(0.3)) == NetKind::kTimeout);
  CHECK(seconds_since(start) < 1.5);
  CHECK(lookups_started == 1);
}

TEST_CASE("a hanging lookup is abandoned on interrupt", "[resolver]") {
  const HangingResolver hang;
  const auto start = Clock::now();
  const auto interrupt = [start] { return seconds_since(start) > 0.2; };  // C-g after 200 ms
  CHECK(failure_resolving("mx.example.org", "25", net::Deadline::after_seconds(60), interrupt) ==
        NetKind::kInterrupted);
  CHECK(seconds_since(start) < 1.5);
}

TEST_CASE("a session's timeout and C-g cover name resolution", "[resolver]") {
  const HangingResolver hang;
  smtp::SessionOptions o = options_for("mx.example.org");
  const auto start = Clock::now();
  smtp::SmtpError::Kind expected{};
  SECTION("timeout") {
    o.timeout_seconds = 0.5;
    expected = smtp::SmtpError::Kind::kTimeout;
  }
  SECTION("C-g") {
    o.timeout_seconds = 60;
    o.interrupt = [start] { return seconds_since(start) > 0.2; };
    expected = smtp::SmtpError::Kind::kInterrupted;
  }
  try {
    smtp::send_mail(o, test::mail_from_to("a@example.org", "b@example.org"), "x\r\n");
    FAIL("sent");
  } catch (const smtp::SmtpError& e) {
    INFO(e.what());
    CHECK(e.kind() == expected);
  }
  CHECK(seconds_since(start) < 2.0);
}

TEST_CASE("cancelling a job stuck resolving, and destroying its runner, take bounded time", "[resolver][jobs]") {
  const HangingResolver hang;
  int bell[2];
  REQUIRE(::pipe(bell) == 0);
  auto job = std::make_shared<jobs::Job>(1, options_for("mx.example.org"),
                                         test::mail_from_to("a@example.org", "b@example.org"), ByteBuffer(3));
  Clock::time_point start;
  {
    jobs::Runner runner(bell[1], 1);
    runner.submit(job, false);
    while (lookups_started == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    start = Clock::now();
    SECTION("cancel") {
      runner.cancel(job);
      while (job->state() == jobs::JobState::kRunning) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      CHECK(job->state() == jobs::JobState::kCancelled);
    }
    SECTION("exit") {}  // ~Runner cancels and joins
  }
  CHECK(seconds_since(start) < 1.5);
  ::close(bell[0]);
}
