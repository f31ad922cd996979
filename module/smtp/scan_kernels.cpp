#include "smtp/scan_kernels.hpp"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#endif

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SMTPN_SCAN_X86 1
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
// One vector kernel for both widths, in the compilers' generic vectors: a comparison gives -1
// (all bits set) in each matching byte lane, so subtracting it from an unsigned lane adds one;
// the lanes are summed every 255 steps, before one can wrap. A pair is an LF whose previous byte, read by a second load one
// byte back, is a CR; so the kernel starts at byte 1 and leaves byte 0, like the tail, to
// count_bytes. It is always inlined into count_sse2 and count_avx2, so each is compiled for
// its own instruction set (the AVX2 one only runs where the CPU has it).
#define SMTPN_SCAN_INLINE inline __attribute__((always_inline))

// Unsigned lanes: a lane counting past 127 is defined (signed lanes overflowed, which UBSan
// reports).
using Lanes16 = unsigned char __attribute__((vector_size(16)));
using Lanes32 = unsigned char __attribute__((vector_size(32)));

// Vectors pass by reference: a 32-byte one by value would change the ABI of these helpers.
template <class V>
SMTPN_SCAN_INLINE void load(V& v, Bytes at) {
  std::memcpy(&v, at, sizeof v);
}

template <class V>
SMTPN_SCAN_INLINE std::size_t lane_sum(const V& acc) {
  std::size_t sum = 0;
  for (std::size_t k = 0; k < sizeof(V); ++k) sum += acc[k];
  return sum;
}

template <class V>
SMTPN_SCAN_INLINE Counts count_vectors(Bytes p, std::size_t n) {
  constexpr std::size_t kWidth = sizeof(V);
  Counts c;
  if (n == 0) return c;
  count_bytes(p, 0, 1, false, c);
  std::size_t i = 1;
  const V k_lf = V{} + '\n', k_cr = V{} + '\r';
  V any_high{};
  while (i + kWidth <= n) {
    V acc_lf{}, acc_cr{}, acc_pairs{};
    for (int step = 0; step < 255 && i + kWidth <= n; ++step, i += kWidth) {
      V v, back;
      load(v, p + i);
      load(back, p + i - 1);
      const V is_lf = static_cast<V>(v == k_lf);
      acc_lf -= is_lf;
      acc_cr -= static_cast<V>(v == k_cr);
      acc_pairs -= is_lf & static_cast<V>(back == k_cr);
      any_high |= v;
    }
    c.lf += lane_sum(acc_lf);
    c.cr += lane_sum(acc_cr);
    c.crlf += lane_sum(acc_pairs);
  }
  for (std::size_t k = 0; k < kWidth; ++k) c.eight_bit = c.eight_bit || (any_high[k] & 0x80U) != 0;
  count_bytes(p, i, n, p[i - 1] == '\r', c);
  return c;
}

Counts count_sse2(Bytes p, std::size_t n) { return count_vectors<Lanes16>(p, n); }

__attribute__((target("avx2"))) Counts count_avx2(Bytes p, std::size_t n) {
  return count_vectors<Lanes32>(p, n);
}

// AVX-512BW: each compare of 64 bytes is a bit mask, counted with popcount; a CRLF pair is an
// LF bit whose previous bit (carried across blocks) is a CR bit.
__attribute__((target("avx512f,avx512bw,popcnt"))) Counts count_avx512(Bytes p, std::size_t n) {
  Counts c;
  const __m512i k_lf = _mm512_set1_epi8('\n'), k_cr = _mm512_set1_epi8('\r');
  std::uint64_t high = 0, cr_carry = 0;
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i v = _mm512_loadu_si512(p + i);
    const std::uint64_t lf = _mm512_cmpeq_epi8_mask(v, k_lf);
    const std::uint64_t cr = _mm512_cmpeq_epi8_mask(v, k_cr);
    c.lf += static_cast<std::size_t>(__builtin_popcountll(lf));
    c.cr += static_cast<std::size_t>(__builtin_popcountll(cr));
    c.crlf += static_cast<std::size_t>(__builtin_popcountll(lf & ((cr << 1) | cr_carry)));
    cr_carry = cr >> 63;
    high |= _mm512_movepi8_mask(v);
  }
  c.eight_bit = high != 0;
  count_bytes(p, i, n, i > 0 && p[i - 1] == '\r', c);
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
    case Kernel::kAvx512:
      return __builtin_cpu_supports("avx512bw") != 0;
#else
    case Kernel::kSse2:
    case Kernel::kAvx2:
    case Kernel::kAvx512:
      return false;
#endif
  }
  return false;
}

Kernel fastest() {
  static const Kernel chosen = available(Kernel::kAvx512) ? Kernel::kAvx512
                               : available(Kernel::kAvx2) ? Kernel::kAvx2
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
    case Kernel::kAvx512:
      return count_avx512(p, message.size());
#endif
    default: {
      Counts c;
      count_bytes(p, 0, message.size(), false, c);
      return c;
    }
  }
}

}  // namespace smtpn::smtp::scan
