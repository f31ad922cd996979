// smtp::scan: every kernel this CPU runs (bytes, SSE2, AVX2, AVX-512BW) counts exactly what the byte
// kernel counts, on random bodies of every length around the vector widths and with CR, LF
// and high bytes placed on each side of every 16-, 32- and 64-byte step boundary.
#include <cstddef>
#include <random>
#include <string>
#include <vector>

#include "catch.hpp"
#include "smtp/scan_kernels.hpp"

namespace scan = smtpn::smtp::scan;

namespace {

std::vector<scan::Kernel> vector_kernels() {
  std::vector<scan::Kernel> kernels;
  for (const auto k : {scan::Kernel::kSse2, scan::Kernel::kAvx2, scan::Kernel::kAvx512})
    if (scan::available(k)) kernels.push_back(k);
  return kernels;
}

void require_same_counts(const std::string& body) {
  const scan::Counts want = scan::count(body, scan::Kernel::kBytes);
  for (const auto kernel : vector_kernels()) {
    CAPTURE(static_cast<int>(kernel), body.size());
    const scan::Counts got = scan::count(body, kernel);
    REQUIRE(got.lf == want.lf);
    REQUIRE(got.cr == want.cr);
    REQUIRE(got.crlf == want.crlf);
    REQUIRE(got.eight_bit == want.eight_bit);
  }
}

}  // namespace

TEST_CASE("the byte kernel counts line ends, CRLF pairs and 8-bit bytes", "[scan]") {
  const scan::Counts c = scan::count("a\r\nb\nc\rd\r\r\n\xc3\xa9", scan::Kernel::kBytes);
  CHECK(c.lf == 3);
  CHECK(c.cr == 4);
  CHECK(c.crlf == 2);
  CHECK(c.eight_bit);
  CHECK_FALSE(scan::count("plain\r\n", scan::Kernel::kBytes).eight_bit);
  CHECK(scan::available(scan::fastest()));
}

TEST_CASE("the vector kernels agree with the byte kernel", "[scan]") {
#if defined(__x86_64__)
  REQUIRE(scan::available(scan::Kernel::kSse2));  // else this test would check nothing here
#endif
  std::mt19937_64 rng(7);
  static constexpr char kAlphabet[] = {'\r', '\n', 'a', '.', '\x80', '\xff', '\x7f', '\0'};
  for (std::size_t len = 0; len <= 300; ++len)
    for (int round = 0; round < 8; ++round) {
      std::string body(len, 'x');
      for (auto& c : body) c = rng() % 3 == 0 ? kAlphabet[rng() % sizeof kAlphabet] : 'x';
      require_same_counts(body);
    }
  // One CR, LF, CRLF or high byte at each offset across the step boundaries, in ASCII.
  for (const std::string mark : {"\r", "\n", "\r\n", "\x80", "\xff"})
    for (std::size_t at = 0; at < 100; ++at) {
      std::string body(100, 'x');
      body.replace(at, mark.size(), mark);
      require_same_counts(body.substr(0, 100));
    }
  // Lane counters overflow after 255 steps if never summed: 20000 line ends in a row.
  require_same_counts(std::string(20000, '\n'));
  require_same_counts(std::string(20000, '\r'));
  std::string pairs;
  for (int i = 0; i < 10000; ++i) pairs += "\r\n";
  require_same_counts(pairs);
}
