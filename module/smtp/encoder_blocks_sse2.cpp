// The encoder's block loop for every x86-64 CPU (SSE2), and for other CPUs byte by byte.
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "smtp/encoder_blocks.hpp"

namespace smtpn::smtp::blocks {
namespace sse2 {
namespace {

// Bit I of the result set when IN[I] == B, for the 64 bytes at IN.
std::uint64_t equal(const char* in, char b) {
#if defined(__SSE2__)
  const __m128i k = _mm_set1_epi8(b);
  std::uint64_t mask = 0;
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16 * i));
    mask |= static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, k)))) << (16 * i);
  }
  return mask;
#else
  std::uint64_t mask = 0;
  for (std::size_t i = 0; i < kBlock; ++i)
    if (in[i] == b) mask |= std::uint64_t{1} << i;
  return mask;
#endif
}

inline Masks masks(const char* in) { return {equal(in, '\n'), equal(in, '\r')}; }
inline std::uint64_t dots(const char* in) { return equal(in, '.'); }
inline void copy_block(char* out, const char* in) { __builtin_memcpy(out, in, kBlock); }

}  // namespace

#include "smtp/encoder_blocks.inc"

}  // namespace sse2

std::uint64_t line_end_mask(const char* in) {
  const Masks m = sse2::masks(in);
  return m.lf | m.cr;
}

}  // namespace smtpn::smtp::blocks
