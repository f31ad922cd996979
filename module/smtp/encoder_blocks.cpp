#include "smtp/encoder_blocks.hpp"

#include "smtp/scan_kernels.hpp"

namespace smtpn::smtp::blocks {
bool available(Kernel kernel) {
  switch (kernel) {
    case Kernel::kSse2:
      return true;  // byte by byte where there is no SSE2
    case Kernel::kAvx512:
#if SMTPN_ENCODER_AVX512
      return scan::available(scan::Kernel::kAvx512);  // the same CPU check as the scan's
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
