#include "common/heap_warm_up.hpp"

#include <cstdlib>
#include <cstring>
#include <thread>

#if defined(__linux__) && defined(__GLIBC__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace smtpn {

#if defined(__linux__) && defined(__GLIBC__)
namespace {

// glibc raises its mmap threshold to the size of a freed mapped block up to this (64-bit
// DEFAULT_MMAP_THRESHOLD_MAX); its trim threshold becomes twice that, so a free block of
// SIZE at the heap's top is kept, not given back.
constexpr std::size_t kThresholdAtMost = std::size_t{32} << 20;
// The freed mapped block is this much larger than SIZE, so that a SIZE request falls below
// the new threshold and comes from the heap.
constexpr std::size_t kSlack = std::size_t{256} << 10;

// Hands BLOCK's SIZE bytes to the kernel once (a write to a memory file closed after).
void read_by_kernel(const char* block, std::size_t size) {
  const int fd = memfd_create("smtpmail-native-heap", MFD_CLOEXEC);
  if (fd < 0) return;
  for (std::size_t at = 0; at < size;) {
    const ssize_t n = write(fd, block + at, size - at);
    if (n <= 0) break;
    at += static_cast<std::size_t>(n);
  }
  close(fd);
}

}  // namespace

void prepare_heap(std::size_t size) {
  if (size == 0 || size + kSlack > kThresholdAtMost) return;
  void* mapped = std::malloc(size + kSlack);
  __asm__ volatile("" : : "r"(mapped) : "memory");  // an unused malloc/free pair may be dropped
  std::free(mapped);
  auto* block = static_cast<char*>(std::malloc(size));
  if (block == nullptr) return;
  // The pages' cost is paid on a thread of its own; free() returns the block to Emacs's heap
  // (glibc frees into the block's own arena from any thread).
  std::thread([block, size] {
    std::memset(block, 0, size);
    read_by_kernel(block, size);
    std::free(block);
  }).detach();
}
#else
void prepare_heap(std::size_t) {}
#endif

}  // namespace smtpn
