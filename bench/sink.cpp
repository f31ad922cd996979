// A fast loopback SMTP sink for the benchmarks: one connection at a time, pipelining-aware,
// DATA and BDAT, discards every message. Fast enough that the client under test, not the
// sink, dominates what bench-send measures (the Python sink in test-servers/ is not).
//   bench_sink [--no-chunking] [PORT]  -> prints the listening port on the first line, runs
//   until killed. --no-chunking leaves CHUNKING out of the EHLO reply, so clients use DATA.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

class Connection {
 public:
  Connection(int fd, bool chunking) : fd_(fd), chunking_(chunking) {}
  void serve() {
    say("220 bench-sink ESMTP\r\n");
    for (;;) {
      std::string line;
      if (!read_line(line)) return;
      if (starts_with(line, "EHLO")) {
        say("250-bench-sink\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 104857600\r\n");
        if (chunking_) say("250-CHUNKING\r\n");
        say("250 ENHANCEDSTATUSCODES\r\n");
      } else if (starts_with(line, "HELO")) {
        say("250 bench-sink\r\n");
      } else if (starts_with(line, "DATA")) {
        say("354 go ahead\r\n");
        if (!read_data()) return;
        say("250 2.0.0 accepted\r\n");
      } else if (starts_with(line, "BDAT")) {
        const unsigned long size = std::strtoul(line.c_str() + 5, nullptr, 10);
        if (!skip(size)) return;
        say("250 2.0.0 chunk accepted\r\n");
      } else if (starts_with(line, "QUIT")) {
        say("221 2.0.0 bye\r\n");
        return;
      } else {
        say("250 2.0.0 ok\r\n");
      }
    }
  }

 private:
  static bool starts_with(const std::string& s, std::string_view p) {
    return s.size() >= p.size() && strncasecmp(s.data(), p.data(), p.size()) == 0;
  }
  // Replies are buffered and flushed when no more input is waiting: pipelined commands
  // get their replies in one write, as a real server's would.
  void say(std::string_view s) {
    out_.append(s);
    if (pos_ >= in_.size()) flush();
  }
  void flush() {
    std::size_t off = 0;
    while (off < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + off, out_.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    out_.clear();
  }
  bool fill() {
    flush();
    if (pos_ > 0) {
      in_.erase(0, pos_);
      pos_ = 0;
    }
    char buf[1 << 16];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  bool read_line(std::string& line) {
    for (;;) {
      const std::size_t nl = in_.find('\n', pos_);
      if (nl != std::string::npos) {
        line.assign(in_, pos_, nl - pos_);
        pos_ = nl + 1;
        return true;
      }
      if (!fill()) return false;
    }
  }
  // Scans for CRLF "." CRLF with a small state machine; the 354 left us at a line start.
  bool read_data() {
    enum { kText, kCr, kLineStart, kDot, kDotCr } state = kLineStart;
    for (;;) {
      while (pos_ < in_.size()) {
        if (state == kText) {
          const void* cr = std::memchr(in_.data() + pos_, '\r', in_.size() - pos_);
          if (!cr) {
            pos_ = in_.size();
            break;
          }
          pos_ = static_cast<std::size_t>(static_cast<const char*>(cr) - in_.data()) + 1;
          state = kCr;
          continue;
        }
        const char c = in_[pos_++];
        switch (state) {
          case kCr: state = c == '\n' ? kLineStart : c == '\r' ? kCr : kText; break;
          case kLineStart: state = c == '.' ? kDot : c == '\r' ? kCr : kText; break;
          case kDot: state = c == '\r' ? kDotCr : kText; break;
          case kDotCr:
            if (c == '\n') return true;
            state = c == '\r' ? kCr : kText;
            break;
          case kText: break;
        }
      }
      if (!fill()) return false;
    }
  }
  bool skip(std::size_t size) {
    while (in_.size() - pos_ < size) {
      size -= in_.size() - pos_;
      pos_ = in_.size();
      if (!fill()) return false;
    }
    pos_ += size;
    return true;
  }

  int fd_;
  bool chunking_;
  std::string in_;
  std::size_t pos_ = 0;
  std::string out_;
};

}  // namespace

int main(int argc, char** argv) {
  bool chunking = true;
  if (argc > 1 && std::strcmp(argv[1], "--no-chunking") == 0) {
    chunking = false;
    --argc;
    ++argv;
  }
  const int port = argc > 1 ? std::atoi(argv[1]) : 0;
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener, 16) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("bench_sink");
    return 1;
  }
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  for (;;) {
    const int fd = ::accept(listener, nullptr, nullptr);
    if (fd < 0) continue;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Connection(fd, chunking).serve();
    ::close(fd);
  }
}
