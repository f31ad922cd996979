// The C++ base64 encoder alone on 10 MiB, without the module boundary: what README's
// "Crypto primitives" compares smtpmail-native-base64-encode's 10 MiB figure against.
// Prints the median and minimum of RUNS encodes; asserts nothing.
//   bench_base64 [RUNS]   (default 15)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "crypto/base64.hpp"

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  constexpr std::size_t kSize = 10 * 1024 * 1024;
  std::string bytes(kSize, '\0');
  std::mt19937 rng(42);
  for (auto& b : bytes) b = static_cast<char>(rng());
  std::vector<double> ms;
  std::size_t sink = 0;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const std::string encoded = smtpn::crypto::base64_encode(bytes);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    sink += encoded.size();
  }
  std::sort(ms.begin(), ms.end());
  std::printf("base64 encoder alone (C++, no module boundary), 10 MiB, %d runs: median %.2f ms, min %.2f ms (%zu bytes out)\n",
              runs, ms[ms.size() / 2], ms.front(), sink / static_cast<std::size_t>(runs));
  return 0;
}
