// Peak heap growth of a send against a server that floods its greeting: one 1 MB line, and
// 10,000 continuation lines. README's hostile-server table quotes these; the attack suite
// checks a generous bound (512 KB). Counts operator new through the attack suite's meter.
// Prints; asserts nothing.
//   bench_heap_flood
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "alloc_meter.hpp"
#include "loopback.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/session.hpp"

using namespace smtpn::bench;
using smtpn::hostile::heap_live;
using smtpn::hostile::heap_peak;
using smtpn::hostile::reset_heap_peak;

namespace {

void measure(const char* what, const std::string& flood) {
  int port = 0;
  const int listener = listen_loopback(port);
  std::thread server([&] {
    const int fd = ::accept(listener, nullptr, nullptr);
    send_text(fd, flood);
    drain_until_closed(fd);
    ::close(fd);
  });
  smtpn::smtp::SessionOptions options = plain_session(port, 5);
  std::vector<std::string> trace;  // kept, as a user's trace buffer keeps it: part of the cost
  options.trace = [&trace](std::string_view line) { trace.emplace_back(line); };
  const smtpn::smtp::MailOptions mail = one_recipient_mail();

  const std::size_t before = heap_live();
  reset_heap_peak();
  std::string error = "(no error)";
  try {
    smtpn::smtp::send_mail(options, mail, "Subject: x\r\n\r\nx\r\n");
  } catch (const smtpn::smtp::SmtpError& e) {
    error = e.what();
  }
  const std::size_t growth = heap_peak() - before;
  server.join();
  ::close(listener);
  std::printf("  %-13s (%7zu-byte flood): peak heap growth %7zu bytes (%.0f KB); %s\n", what, flood.size(), growth,
              static_cast<double>(growth) / 1024, error.c_str());
}

}  // namespace

int main() {
  std::printf("client heap growth against a flooding greeting (operator new, whole process):\n");
  measure("a 1 MB line", "220 " + std::string(1024 * 1024, 'x') + "\r\n");
  std::string lines;
  for (int i = 0; i < 10000; ++i) lines += "220-" + std::string(200, static_cast<char>('a' + i % 26)) + "\r\n";
  lines += "220 end\r\n";
  measure("10,000 lines", lines);
  return 0;
}
