// The encoder's hot loop: whole 64-byte blocks of ordinary text, compiled once per
// instruction set (encoder_blocks.inc, included by encoder_blocks_sse2.cpp and, on x86-64,
// by encoder_blocks_avx512.cpp for AVX-512BW) and chosen at run time. With
// AVX-512BW a block's line ends and dots are three compares and its copy one store: 10 MB of
// 76-column lines encode in ~0.4 ms instead of ~1.2 ms (bench_encoder).
#pragma once

#include <cstddef>
#include <cstdint>

// The AVX-512BW loop is compiled on x86-64 by GCC and clang (function target attributes).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SMTPN_ENCODER_AVX512 1
#else
#define SMTPN_ENCODER_AVX512 0
#endif

namespace smtpn::smtp::blocks {

inline constexpr std::size_t kBlock = 64;

// Where the encoder stands: the next input byte, the next output byte, and whether the input
// byte starts a line.
struct Cursor {
  const char* in;
  char* out;
  bool at_line_start;
};

// The LFs and CRs of a 64-byte block, bit I for byte I: what each file's masks() returns.
struct Masks {
  std::uint64_t lf;
  std::uint64_t cr;
};

// Encodes blocks from CURSOR while each is plain text, LF-only or CRLF-only text, at least
// 2 * kBlock input bytes are left before IN_END and OUT is at most OUT_LIMIT (each block writes
// up to 191 bytes from OUT); stops, CURSOR moved on, at the first block that needs the
// encoder's general step: a bare CR, a CRLF cut by the block's end, or (STUFF_DOTS) a dot
// starting a line.
using TakeBlocks = void (*)(Cursor& cursor, const char* in_end, const char* out_limit, bool stuff_dots);

enum class Kernel { kSse2, kAvx512 };
bool available(Kernel kernel);  // compiled in and supported by this CPU and system
Kernel fastest();               // chosen once
TakeBlocks take_blocks(Kernel kernel);  // KERNEL must be available

// The loop as each file compiles it (avx512's only where SMTPN_ENCODER_AVX512 is 1).
namespace sse2 {
void take_blocks(Cursor& c, const char* in_end, const char* out_limit, bool stuff_dots);
}
namespace avx512 {
void take_blocks(Cursor& c, const char* in_end, const char* out_limit, bool stuff_dots);
}

// Bit I set when IN[I] is a CR or LF, for the 64 bytes at IN.
std::uint64_t line_end_mask(const char* in);

}  // namespace smtpn::smtp::blocks
