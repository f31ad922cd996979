// ByteBuffer's spare mapping: a large buffer released is kept, faulted in, for the next large
// one that fits, so a big message sent again is copied into ready memory.
#include <cstring>

#include "catch.hpp"
#include "common/byte_buffer.hpp"

using smtpn::ByteBuffer;

TEST_CASE("a released large buffer's memory serves the next one that fits", "[buffer]") {
  constexpr std::size_t kMiB = std::size_t{1} << 20;
  const char* first = nullptr;
  {
    ByteBuffer big(12 * kMiB);
    std::memset(big.data(), 'x', big.size());
    first = big.data();
  }
  {
    ByteBuffer smaller(8 * kMiB);  // fits in the spare: the same memory
    CHECK(smaller.data() == first);
    CHECK(smaller.size() == 8 * kMiB);
    std::memset(smaller.data(), 'y', smaller.size());
    ByteBuffer meanwhile(8 * kMiB);  // the spare is taken: a mapping of its own
    CHECK(meanwhile.data() != first);
  }
  ByteBuffer larger(70 * kMiB);  // larger than any spare is allowed to be
  CHECK(larger.data() != first);
  CHECK(larger.size() == 70 * kMiB);
  std::memset(larger.data(), 'z', larger.size());
  ByteBuffer small(64);  // small buffers come from the heap, never from the spare
  CHECK(small.size() == 64);
}
