// jobs::Runner's doorbell: ringing a pipe whose reader is gone (the hidden pipe process was
// deleted) fails quietly instead of raising SIGPIPE, also from the main thread, where
// SIGPIPE is not blocked and would kill Emacs; a new channel then receives what waited.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <thread>

#include "catch.hpp"
#include "common/byte_buffer.hpp"
#include "jobs/runner.hpp"
#include "support/loopback_session.hpp"
#include "support/mail_options.hpp"

using namespace smtpn;

namespace {

// A listening socket on 127.0.0.1 that never accepts: a job sent there connects and waits
// for a greeting that never comes, holding the only worker.
struct SilentListener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  std::string port;
  SilentListener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd, 4) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = std::to_string(ntohs(a.sin_port));
  }
  ~SilentListener() { ::close(fd); }
};

std::shared_ptr<jobs::Job> job_to(std::uint64_t id, const std::string& port) {
  return std::make_shared<jobs::Job>(id, test::loopback_session(port, smtp::StreamType::kPlain, 10), test::mail_from_to("a@example.org", "b@example.org"),
                                     ByteBuffer(3));
}

}  // namespace

TEST_CASE("cancelling a queued job with the doorbell's reader gone raises no SIGPIPE", "[jobs][sigpipe]") {
  // What Emacs's main thread has: SIGPIPE deliverable, with the default action (terminate).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  struct sigaction saved {};
  ::sigaction(SIGPIPE, &dfl, &saved);
  sigset_t pipe_only, mask;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_UNBLOCK, &pipe_only, &mask);

  int bell[2];
  REQUIRE(::pipe(bell) == 0);
  SilentListener server;
  {
    jobs::Runner runner(bell[1], 1);
    const auto running = job_to(1, server.port);
    const auto queued = job_to(2, server.port);
    runner.submit(running, false);
    runner.submit(queued, false);
    // The worker's own rings (progress) go to a live reader; then it waits for the greeting.
    while (running->phase() != smtp::Phase::kGreeting) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    runner.drain();  // the next event rings again
    CHECK_FALSE(runner.doorbell_broken());
    ::close(bell[0]);  // the pipe process was deleted

    runner.cancel(queued);  // rings from this thread: without the fix the process dies here
    CHECK(queued->state() == jobs::JobState::kCancelled);
    CHECK(runner.doorbell_broken());

    // A new channel: the waiting event rings it at once.
    int fresh[2];
    REQUIRE(::pipe(fresh) == 0);
    runner.replace_doorbell(fresh[1]);
    CHECK_FALSE(runner.doorbell_broken());
    char byte = 0;
    ::fcntl(fresh[0], F_SETFL, O_NONBLOCK);
    CHECK(::read(fresh[0], &byte, 1) == 1);
    const auto events = runner.drain();
    REQUIRE(events.size() == 1);
    CHECK(events[0].job == queued);
    CHECK(events[0].kind == jobs::Event::Kind::kDone);
    runner.cancel(running);
    ::close(fresh[0]);
  }
  sigset_t pending;
  sigpending(&pending);
  CHECK_FALSE(sigismember(&pending, SIGPIPE));
  pthread_sigmask(SIG_SETMASK, &mask, nullptr);
  ::sigaction(SIGPIPE, &saved, nullptr);
}
