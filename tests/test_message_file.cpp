// MessageFile: what Emacs writes through the file's path is what the mapping shows, a file
// shorter than announced is refused, and a released file serves the next message, zeroed:
// no byte of the previous message shows.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "catch.hpp"
#include "common/message_file.hpp"

using smtpn::MessageFile;

namespace {

// Writes TEXT at OFFSET through FILE's path, as write-region does (a new open, no truncation).
void write_through_path(const MessageFile& file, const std::string& text, off_t offset) {
  const int fd = open(file.path().c_str(), O_WRONLY);
  REQUIRE(fd >= 0);
  REQUIRE(pwrite(fd, text.data(), text.size(), offset) == static_cast<ssize_t>(text.size()));
  close(fd);
}

}  // namespace

TEST_CASE("a message file maps what was written through its path", "[message-file]") {
  auto file = MessageFile::take(11);
  REQUIRE(file);
  write_through_path(*file, "hello ", 0);
  write_through_path(*file, "world", 6);
  auto bytes = file->bytes();
  CHECK(bytes.view() == "hello world");
  file.reset();  // the mapping keeps the file: the bytes stay
  CHECK(bytes.view() == "hello world");
}

TEST_CASE("a message file holding fewer bytes than announced is refused", "[message-file]") {
  auto file = MessageFile::take(std::size_t{100} << 20);  // larger than any kept file
  REQUIRE(file);
  write_through_path(*file, "short", 0);
  CHECK_THROWS_AS(file->bytes(), std::runtime_error);
}

TEST_CASE("a released message file serves the next message, zeroed", "[message-file]") {
  const std::string big(1 << 20, 'x');
  std::string path;
  {
    auto file = MessageFile::take(big.size());
    REQUIRE(file);
    write_through_path(*file, big, 0);
    CHECK(file->bytes().size() == big.size());
    path = file->path();
  }
  // It is zeroed and kept on a thread of its own: wait for it, holding the others taken.
  std::vector<std::shared_ptr<MessageFile>> others;
  std::shared_ptr<MessageFile> next;
  for (int i = 0; i < 500 && !next; ++i) {
    auto file = MessageFile::take(1000);
    REQUIRE(file);
    if (file->path() == path)
      next = file;
    else {
      others.push_back(file);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  REQUIRE(next);
  CHECK(next->bytes().view() == std::string(1000, '\0'));  // none of the x's
  write_through_path(*next, std::string(1000, 'y'), 0);
  CHECK(next->bytes().view() == std::string(1000, 'y'));
}
