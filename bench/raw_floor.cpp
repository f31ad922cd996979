// The raw-socket floor for bench-send: the same bytes a session sends (EHLO, the pipelined
// envelope, the dot-stuffed message, QUIT) over a blocking socket, reading each reply with
// no parsing beyond "last line of the reply". What no SMTP client can beat on this machine.
//   raw_floor PORT MESSAGE-FILE REPEAT [bdat]  ->  prints one line per run: seconds
// With "bdat" the message goes as one BDAT LAST chunk after the pipelined MAIL and RCPT, as
// the client sends a large message to a server that offers CHUNKING.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "smtp/encoder.hpp"

namespace {

int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void write_all(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ::send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) std::exit(2);
    off += static_cast<std::size_t>(n);
  }
}

// Reads until COUNT final reply lines ("DDD " at a line start) have arrived.
void read_replies(int fd, int count, std::string& buf) {
  std::size_t scan = 0;
  for (;;) {
    std::size_t nl;
    while ((nl = buf.find('\n', scan)) != std::string::npos) {
      if (nl - scan >= 4 && buf[scan + 3] == ' ' && --count == 0) {
        buf.erase(0, nl + 1);
        return;
      }
      scan = nl + 1;
    }
    char tmp[4096];
    const ssize_t n = ::recv(fd, tmp, sizeof tmp, 0);
    if (n <= 0) std::exit(3);
    buf.append(tmp, static_cast<std::size_t>(n));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4 && !(argc == 5 && std::string(argv[4]) == "bdat")) {
    std::fprintf(stderr, "usage: raw_floor PORT MESSAGE-FILE REPEAT [bdat]\n");
    return 64;
  }
  const int port = std::atoi(argv[1]);
  std::ifstream in(argv[2], std::ios::binary);
  const std::string message((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const int repeat = std::atoi(argv[3]);
  // Encoded once, outside the timing: the floor has no encoder cost either.
  const bool bdat = argc == 5;
  using Mode = smtpn::smtp::DataEncoder::Mode;
  std::string data = smtpn::smtp::encode_message(message, bdat ? Mode::kBdat : Mode::kData);
  // The BDAT command rides in the chunk's first write, as the client sends it.
  if (bdat) data.insert(0, "BDAT " + std::to_string(data.size()) + " LAST\r\n");

  for (int i = 0; i < repeat; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const int fd = connect_to(port);
    std::string buf;
    read_replies(fd, 1, buf);
    write_all(fd, "EHLO bench\r\n");
    read_replies(fd, 1, buf);
    if (bdat) {
      write_all(fd, "MAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@example.org>\r\n");
      read_replies(fd, 2, buf);
      write_all(fd, data);
    } else {
      write_all(fd, "MAIL FROM:<bench@example.org>\r\nRCPT TO:<sink@example.org>\r\nDATA\r\n");
      read_replies(fd, 3, buf);
      write_all(fd, data);
    }
    read_replies(fd, 1, buf);
    write_all(fd, "QUIT\r\n");
    read_replies(fd, 1, buf);
    ::close(fd);
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    std::printf("%.9f\n", took.count());
  }
  return 0;
}
