#include "common/message_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace smtpn {
namespace {

// Kept files: at most two (two large sends in a row), each of at most this size.
constexpr std::size_t kSpareAtMost = std::size_t{66} << 20;

struct Spare {
  int fd = -1;
  std::size_t pages = 0;  // bytes whose pages are allocated (the file's size: never truncated)
};

struct Spares {
  std::mutex mutex;
  std::array<Spare, 2> kept;
};
Spares& spares() {
  static Spares& s = *new Spares;  // never destroyed: a warm-up thread may outlive exit
  return s;
}

// The smallest kept file covering SIZE, else the largest one (partly warm), else none.
Spare take_spare(std::size_t size) {
  auto& s = spares();
  const std::lock_guard<std::mutex> lock(s.mutex);
  Spare* fitting = nullptr;
  Spare* largest = nullptr;
  for (auto& k : s.kept) {
    if (k.fd < 0) continue;
    if (k.pages >= size && (fitting == nullptr || k.pages < fitting->pages)) fitting = &k;
    if (largest == nullptr || k.pages > largest->pages) largest = &k;
  }
  Spare* best = fitting != nullptr ? fitting : largest;
  return best == nullptr ? Spare{} : std::exchange(*best, Spare{});
}

// Keeps SPARE in place of the smallest kept file when it has more pages; closes the other.
void keep(Spare spare) {
  if (spare.pages <= kSpareAtMost) {
    auto& s = spares();
    const std::lock_guard<std::mutex> lock(s.mutex);
    Spare* smallest = &s.kept[0];
    for (auto& k : s.kept)
      if (k.fd < 0 || (smallest->fd >= 0 && k.pages < smallest->pages)) smallest = &k;
    if (smallest->fd < 0 || spare.pages > smallest->pages) std::swap(spare, *smallest);
  }
  if (spare.fd >= 0) close(spare.fd);
}

// Writes zeros over the first PAGES bytes of FD: its pages are allocated and written, so the
// next message is written into ready memory (pages only reserved with fallocate made that
// write ~20 ms per 10 MB slower), and no byte of an earlier message is left in them.
bool zero(int fd, std::size_t pages) {
  const std::vector<char> zeros(std::size_t{1} << 20);
  for (std::size_t at = 0; at < pages; at += zeros.size()) {
    const std::size_t n = std::min(zeros.size(), pages - at);
    if (pwrite(fd, zeros.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n)) return false;
  }
  return true;
}

// Zeroes SPARE and keeps it, on a thread of its own: a message file never shows a previous
// message's bytes.
void recycle(Spare spare) {
  std::thread([spare] {
    if (zero(spare.fd, spare.pages))
      keep(spare);
    else
      close(spare.fd);
  }).detach();
}

int new_memory_file() {
#ifdef __linux__
  return memfd_create("smtpmail-native-message", MFD_CLOEXEC);
#else
  return -1;
#endif
}

}  // namespace

std::shared_ptr<MessageFile> MessageFile::take(std::size_t size) {
  Spare spare = take_spare(size);
  if (spare.fd < 0) spare.fd = new_memory_file();
  if (spare.fd < 0) return nullptr;
  return std::shared_ptr<MessageFile>(new MessageFile(spare.fd, size, spare.pages));
}

void MessageFile::warm_up(std::size_t size) {
  if (size == 0 || size > kSpareAtMost) return;
  std::thread([size] {
    const int fd = new_memory_file();
    if (fd < 0) return;
    if (zero(fd, size))
      keep(Spare{fd, size});
    else
      close(fd);
  }).detach();
}

MessageFile::~MessageFile() {
  struct stat st {};
  const std::size_t written = fstat(fd_, &st) == 0 ? static_cast<std::size_t>(st.st_size) : 0;
  recycle(Spare{fd_, std::max(written, reserved_)});  // its size: never truncated
}

std::string MessageFile::path() const { return "/proc/self/fd/" + std::to_string(fd_); }

ByteBuffer MessageFile::bytes() {
  struct stat st {};
  if (fstat(fd_, &st) != 0) throw std::runtime_error("cannot read the message file");
  if (static_cast<std::size_t>(st.st_size) < size_)
    throw std::runtime_error("the message file holds " + std::to_string(st.st_size) + " bytes, not the " +
                             std::to_string(size_) + " announced");
  if (size_ == 0) return ByteBuffer(0);
  void* start = mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd_, 0);
  if (start == MAP_FAILED) throw std::runtime_error("cannot map the message file");
  return ByteBuffer::mapped(start, size_, size_, shared_from_this());
}

}  // namespace smtpn
