// How long C-g (and smtpmail-native-cancel-job) takes to end a send: the module's socket
// waits check an interrupt flag between poll slices, and both C-g (should_quit) and a job's
// cancel flag arrive through that check. A loopback server greets, answers EHLO, then stalls;
// the flag is raised at a random moment while the client waits, and we time from the flag to
// send_mail() throwing, and to the server seeing the connection end. Prints; asserts nothing.
//   bench_cancel [RUNS]   (default 40)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "loopback.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/session.hpp"

using namespace smtpn::bench;

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds from RAISED (a steady_clock count, written by another thread) to now.
double ms_since(const std::atomic<Clock::rep>& raised) {
  const Clock::time_point t{Clock::duration{raised.load()}};
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 40;
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(20, 120);
  std::vector<double> to_error, to_server_close;

  for (int run = 0; run < runs; ++run) {
    int port = 0;
    const int listener = listen_loopback(port);
    std::atomic<bool> interrupt{false};
    std::atomic<bool> stalled{false};
    std::atomic<Clock::rep> raised{0};
    double server_close_ms = -1;

    std::thread server([&] {
      const int fd = ::accept(listener, nullptr, nullptr);
      send_text(fd, "220 bench ESMTP\r\n");
      if (read_line(fd)) send_text(fd, "250-bench\r\n250 PIPELINING\r\n");
      stalled = true;  // MAIL (and the rest) are never answered
      drain_until_closed(fd);
      server_close_ms = ms_since(raised);
      ::close(fd);
    });

    smtpn::smtp::SessionOptions options = plain_session(port, 30);
    options.interrupt = [&] { return interrupt.load(); };
    const smtpn::smtp::MailOptions mail = one_recipient_mail();

    std::thread raiser([&] {
      while (!stalled) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      raised = Clock::now().time_since_epoch().count();
      interrupt = true;
    });
    double error_ms = -1;
    try {
      smtpn::smtp::send_mail(options, mail, "Subject: x\r\n\r\nx\r\n");
    } catch (const smtpn::smtp::SmtpError&) {
      error_ms = ms_since(raised);
    }
    raiser.join();
    server.join();
    ::close(listener);
    to_error.push_back(error_ms);
    to_server_close.push_back(server_close_ms);
  }

  std::printf("interrupt (C-g / cancel-job) while waiting for a reply, %d runs, flag raised at a random moment:\n",
              runs);
  std::printf("  flag -> send_mail throws:          median %6.1f ms   max %6.1f ms\n", median(to_error),
              *std::max_element(to_error.begin(), to_error.end()));
  std::printf("  flag -> server sees the connection end: median %6.1f ms   max %6.1f ms\n",
              median(to_server_close), *std::max_element(to_server_close.begin(), to_server_close.end()));
  return 0;
}
