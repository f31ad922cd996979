// The encoder's block loop with AVX-512BW, on x86-64: the functions of this file alone are
// compiled for it (the pragmas below, after the includes, so no header's inline function is),
// and the loop runs only where the CPU and the system have it (encoder_blocks.cpp).
#include "smtp/encoder_blocks.hpp"

#if SMTPN_ENCODER_AVX512
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw")
#endif

namespace smtpn::smtp::blocks {
namespace avx512 {
namespace {

inline Masks masks(const char* in) {
  const __m512i v = _mm512_loadu_si512(in);
  return {_mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')), _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r'))};
}
inline std::uint64_t dots(const char* in) {
  return _mm512_cmpeq_epi8_mask(_mm512_loadu_si512(in), _mm512_set1_epi8('.'));
}
inline void copy_block(char* out, const char* in) { _mm512_storeu_si512(out, _mm512_loadu_si512(in)); }

}  // namespace

#include "smtp/encoder_blocks.inc"

}  // namespace avx512
}  // namespace smtpn::smtp::blocks

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // SMTPN_ENCODER_AVX512
