// The kernels behind scan_message: one pass over a message counting its LFs, CRs and CRLF
// pairs and spotting any byte >= 0x80, byte by byte, 16 bytes a step (SSE2), 32 (AVX2) or 64
// (AVX-512BW), the widest the CPU has: each halves the scan of a 10 MB message that MAIL FROM
// waits for.
#pragma once

#include <cstddef>
#include <string_view>

namespace smtpn::smtp::scan {

struct Counts {
  std::size_t lf = 0;
  std::size_t cr = 0;
  std::size_t crlf = 0;  // CR immediately followed by LF
  bool eight_bit = false;
};

enum class Kernel { kBytes, kSse2, kAvx2, kAvx512 };

bool available(Kernel kernel);  // compiled in and supported by this CPU
Kernel fastest();               // the fastest available kernel, chosen once
Counts count(std::string_view message, Kernel kernel);  // KERNEL must be available

}  // namespace smtpn::smtp::scan
