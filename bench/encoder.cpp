// The DATA/BDAT encoder alone (BENCHMARKS.org: Full SMTP session): 10 MB of 76-column lines
// with LF and with CRLF line ends, encoded into a 512 KiB buffer as a send does, by each block
// kernel this CPU has; median and fastest of 30 encodings, in ms.
//   bench_encoder
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "smtp/encoder.hpp"

namespace {

using smtpn::smtp::DataEncoder;
namespace blocks = smtpn::smtp::blocks;

std::string lines(const char* ending) {
  const std::string line = std::string(75, 'x') + ending;
  std::string m;
  while (m.size() < (std::size_t{10} << 20)) m += line;
  return m;
}

}  // namespace

int main() {
  const std::unique_ptr<char[]> buffer(new char[512 * 1024]);
  std::printf("%-8s %-4s %-4s %10s %10s\n", "kernel", "ends", "mode", "median ms", "min ms");
  for (const auto kernel : {blocks::Kernel::kSse2, blocks::Kernel::kAvx512}) {
    if (!blocks::available(kernel)) continue;
    for (const char* ending : {"\n", "\r\n"}) {
      const std::string message = lines(ending);
      for (const auto mode : {DataEncoder::Mode::kData, DataEncoder::Mode::kBdat}) {
        std::vector<double> ms;
        for (int round = 0; round < 30; ++round) {
          const auto start = std::chrono::steady_clock::now();
          DataEncoder encoder(message, mode, kernel);
          std::size_t total = 0;
          while (!encoder.done()) total += encoder.encode_into(buffer.get(), 512 * 1024);
          ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
          if (total < message.size()) return 1;  // the output is used
        }
        std::sort(ms.begin(), ms.end());
        std::printf("%-8s %-4s %-4s %10.2f %10.2f\n", kernel == blocks::Kernel::kSse2 ? "sse2" : "avx512",
                    ending[0] == '\r' ? "CRLF" : "LF", mode == DataEncoder::Mode::kData ? "DATA" : "BDAT",
                    ms[ms.size() / 2], ms.front());
      }
    }
  }
  return 0;
}
