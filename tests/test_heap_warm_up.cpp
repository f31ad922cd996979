// prepare_heap: after it, a block of its size comes from Emacs's heap, in pages already
// written (faulted in), instead of a fresh mapping. Hidden from the catch2 run ("[.]"): it reads
// glibc's allocator state, which earlier tests' large blocks change, so ctest runs it alone
// in a process of its own (heap-warm-up), and not under ASan, whose allocator is its own.
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "catch.hpp"
#include "common/heap_warm_up.hpp"

#if defined(__linux__) && defined(__GLIBC__)
#include <malloc.h>

namespace {

// Page faults this thread has taken so far.
long faults() {
  rusage usage{};
  REQUIRE(getrusage(RUSAGE_THREAD, &usage) == 0);
  return usage.ru_minflt + usage.ru_majflt;
}

}  // namespace

TEST_CASE("prepare_heap leaves a block of its size ready in the heap", "[.][heap]") {
  constexpr std::size_t kSize = std::size_t{8} << 20;
  smtpn::prepare_heap(kSize);
  // Its thread frees the block once it has written it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (mallinfo2().fordblks < kSize && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(mallinfo2().fordblks >= kSize);

  const struct mallinfo2 before = mallinfo2();
  void* block = std::malloc(kSize - 4096);
  REQUIRE(block != nullptr);
  const struct mallinfo2 after = mallinfo2();
  CHECK(after.hblks == before.hblks);  // not a mapping of its own
  CHECK(after.arena == before.arena);  // the heap did not grow: the prepared pages serve it
  // Writing the message into it takes no page faults: its pages were written before (a page
  // only read would still be the shared zero page, and fault on the first write).
  const long faults_before = faults();
  std::memset(block, 'x', kSize - 4096);
  CHECK(faults() - faults_before < 64);  // of 2047 pages
  std::free(block);
}
#endif
