// This machine's floor under the first background send of a fresh Emacs: how long the kernel
// takes to write(2) 10 MB of memory that was just allocated and filled (as Emacs fills the
// buffer holding a message it is about to send), into a memory file whose pages are ready,
// and how long the same write takes again. Whatever way the message leaves Emacs (written
// to a file or pipe, or copied into a new string), its freshly filled pages are read once by
// the kernel or the new memory is faulted in; the first write measures that cost.
// For comparison, the other way out: a copy of the same text into new memory (a string).
//   bench_first_write [MB] [ROUNDS]  ->  medians in ms: the first write, the write again,
//                                        the copy into new memory
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

double write_ms(int fd, const char* data, std::size_t size) {
  const auto start = std::chrono::steady_clock::now();
  for (std::size_t at = 0; at < size;) {
    const ssize_t n = pwrite(fd, data + at, size - at, static_cast<off_t>(at));
    if (n <= 0) {
      std::perror("pwrite");
      std::exit(1);
    }
    at += static_cast<std::size_t>(n);
  }
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Maps SIZE bytes of new memory.
char* fresh_memory(std::size_t size) {
  void* fresh = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (fresh == MAP_FAILED) {
    std::perror("mmap");
    std::exit(1);
  }
  return static_cast<char*>(fresh);
}

double median(std::vector<double> xs) {
  std::sort(xs.begin(), xs.end());
  return xs[xs.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t size = (argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 10) << 20;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  const int fd = memfd_create("bench-first-write", MFD_CLOEXEC);
  if (fd < 0 || size == 0 || rounds < 1) {
    std::fprintf(stderr, "usage: bench_first_write [MB] [ROUNDS] (needs memfd_create)\n");
    return 64;
  }
  // The memory file's pages are made ready first, as the module's warm-up makes them.
  const std::vector<char> zeros(size, '\0');
  write_ms(fd, zeros.data(), size);
  std::vector<double> first, again, copy;
  for (int r = 0; r < rounds; ++r) {
    char* text = fresh_memory(size);
    std::memset(text, 'x', size);  // the message's text, written as Emacs inserts it
    first.push_back(write_ms(fd, text, size));
    again.push_back(write_ms(fd, text, size));
    char* string = fresh_memory(size);
    const auto start = std::chrono::steady_clock::now();
    std::memcpy(string, text, size);
    copy.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    if (std::memcmp(string + size / 2, text + size / 2, 64) != 0) return 1;  // the copy is used
    munmap(string, size);
    munmap(text, size);
  }
  std::printf("write of just-filled memory: first %.1f ms (%.1f-%.1f), again %.1f ms; copy into new memory %.1f ms\n",
              median(first), *std::min_element(first.begin(), first.end()),
              *std::max_element(first.begin(), first.end()), median(again), median(copy));
  return 0;
}
