#include "smtp/scan_kernels.hpp"

#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SMTPN_SCAN_X86 1
#include <immintrin.h>
#endif

namespace smtpn::smtp::scan {
namespace {

using Bytes = const unsigned char*;

// Bytes [from, n) one at a time; PREV_CR says whether the byte before FROM was a CR.
void count_bytes(Bytes p, std::size_t from, std::size_t n, bool prev_cr, Counts& c) {
  unsigned high = 0;
  for (std::size_t i = from; i < n; ++i) {
    const unsigned char b = p[i];
    if (b == '\n') {
      ++c.lf;
      if (prev_cr) ++c.crlf;
    }
    if (b == '\r') ++c.cr;
    prev_cr = b == '\r';
    high |= b & 0x80U;
  }
  c.eight_bit = c.eight_bit || high != 0;
}

#ifdef SMTPN_SCAN_X86
// The vector kernels count in byte lanes (a match is -1: subtracting it adds one), summed
// every 255 steps before a lane can overflow. A pair is an LF whose previous byte, read by a
// second load one byte back, is a CR; so they start at byte 1 and leave byte 0, like the
// tail, to count_bytes.

std::size_t lane_sum(__m128i acc) {
  const __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
  return static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) +
         static_cast<std::size_t>(_mm_cvtsi128_si32(_mm_unpackhi_epi64(sums, sums)));
}

Counts count_sse2(Bytes p, std::size_t n) {
  Counts c;
  if (n == 0) return c;
  count_bytes(p, 0, 1, false, c);
  std::size_t i = 1;
  const __m128i k_lf = _mm_set1_epi8('\n'), k_cr = _mm_set1_epi8('\r'), zero = _mm_setzero_si128();
  unsigned high = 0;
  while (i + 16 <= n) {
    __m128i acc_lf = zero, acc_cr = zero, acc_pairs = zero, acc_high = zero;
    for (int step = 0; step < 255 && i + 16 <= n; ++step, i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      const __m128i back = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i - 1));
      const __m128i is_lf = _mm_cmpeq_epi8(v, k_lf);
      acc_lf = _mm_sub_epi8(acc_lf, is_lf);
      acc_cr = _mm_sub_epi8(acc_cr, _mm_cmpeq_epi8(v, k_cr));
      acc_pairs = _mm_sub_epi8(acc_pairs, _mm_and_si128(is_lf, _mm_cmpeq_epi8(back, k_cr)));
      acc_high = _mm_or_si128(acc_high, v);
    }
    c.lf += lane_sum(acc_lf);
    c.cr += lane_sum(acc_cr);
    c.crlf += lane_sum(acc_pairs);
    high |= static_cast<unsigned>(_mm_movemask_epi8(acc_high));
  }
  c.eight_bit = c.eight_bit || high != 0;
  count_bytes(p, i, n, p[i - 1] == '\r', c);
  return c;
}

__attribute__((target("avx2"))) std::size_t lane_sum_avx2(__m256i acc) {
  const __m256i sums = _mm256_sad_epu8(acc, _mm256_setzero_si256());
  const __m128i both = _mm_add_epi64(_mm256_castsi256_si128(sums), _mm256_extracti128_si256(sums, 1));
  return static_cast<std::size_t>(_mm_cvtsi128_si64(both)) +
         static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(both, both)));
}

__attribute__((target("avx2"))) Counts count_avx2(Bytes p, std::size_t n) {
  Counts c;
  if (n == 0) return c;
  count_bytes(p, 0, 1, false, c);
  std::size_t i = 1;
  const __m256i k_lf = _mm256_set1_epi8('\n'), k_cr = _mm256_set1_epi8('\r'), zero = _mm256_setzero_si256();
  unsigned high = 0;
  while (i + 32 <= n) {
    __m256i acc_lf = zero, acc_cr = zero, acc_pairs = zero, acc_high = zero;
    for (int step = 0; step < 255 && i + 32 <= n; ++step, i += 32) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i));
      const __m256i back = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i - 1));
      const __m256i is_lf = _mm256_cmpeq_epi8(v, k_lf);
      acc_lf = _mm256_sub_epi8(acc_lf, is_lf);
      acc_cr = _mm256_sub_epi8(acc_cr, _mm256_cmpeq_epi8(v, k_cr));
      acc_pairs = _mm256_sub_epi8(acc_pairs, _mm256_and_si256(is_lf, _mm256_cmpeq_epi8(back, k_cr)));
      acc_high = _mm256_or_si256(acc_high, v);
    }
    c.lf += lane_sum_avx2(acc_lf);
    c.cr += lane_sum_avx2(acc_cr);
    c.crlf += lane_sum_avx2(acc_pairs);
    high |= static_cast<unsigned>(_mm256_movemask_epi8(acc_high));
  }
  c.eight_bit = c.eight_bit || high != 0;
  count_bytes(p, i, n, p[i - 1] == '\r', c);
  return c;
}
#endif

}  // namespace

bool available(Kernel kernel) {
  switch (kernel) {
    case Kernel::kBytes:
      return true;
#ifdef SMTPN_SCAN_X86
    case Kernel::kSse2:
      return true;  // every x86-64 CPU has it
    case Kernel::kAvx2:
      return __builtin_cpu_supports("avx2") != 0;
#else
    case Kernel::kSse2:
    case Kernel::kAvx2:
      return false;
#endif
  }
  return false;
}

Kernel fastest() {
  static const Kernel chosen = available(Kernel::kAvx2)   ? Kernel::kAvx2
                               : available(Kernel::kSse2) ? Kernel::kSse2
                                                          : Kernel::kBytes;
  return chosen;
}

Counts count(std::string_view message, Kernel kernel) {
  const auto* p = reinterpret_cast<Bytes>(message.data());
  switch (kernel) {
#ifdef SMTPN_SCAN_X86
    case Kernel::kSse2:
      return count_sse2(p, message.size());
    case Kernel::kAvx2:
      return count_avx2(p, message.size());
#endif
    default: {
      Counts c;
      count_bytes(p, 0, message.size(), false, c);
      return c;
    }
  }
}

}  // namespace smtpn::smtp::scan
