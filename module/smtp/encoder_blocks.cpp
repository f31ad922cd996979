#include "smtp/encoder_blocks.hpp"

namespace smtpn::smtp::blocks {
bool available(Kernel kernel) {
  switch (kernel) {
    case Kernel::kSse2:
      return true;  // byte by byte where there is no SSE2
    case Kernel::kAvx512:
#if SMTPN_ENCODER_AVX512
      // GCC's and clang's check covers the system's support (the ZMM state in XCR0) too.
      return __builtin_cpu_supports("avx512bw") != 0;
#else
      return false;
#endif
  }
  return false;
}

Kernel fastest() {
  static const Kernel chosen = available(Kernel::kAvx512) ? Kernel::kAvx512 : Kernel::kSse2;
  return chosen;
}

TakeBlocks take_blocks(Kernel kernel) {
#if SMTPN_ENCODER_AVX512
  if (kernel == Kernel::kAvx512) return &avx512::take_blocks;
#endif
  (void)kernel;
  return &sse2::take_blocks;
}

}  // namespace smtpn::smtp::blocks
