#include "smtp/encoder.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "smtp/scan_kernels.hpp"

namespace smtpn::smtp {
namespace {

constexpr std::size_t kBlock = 64;
// next_chunk grows its string by at most this much a step (a target may be "everything").
constexpr std::size_t kNextChunkStep = std::size_t{1} << 20;

// Where the 64 bytes at IN hold an LF, a CR and a dot: bit I for IN[I].
struct BlockMasks {
  std::uint64_t lf;
  std::uint64_t cr;
  std::uint64_t dot;
};

BlockMasks block_masks(const char* in) {
  BlockMasks m{0, 0, 0};
#if defined(__SSE2__)
  const __m128i lf = _mm_set1_epi8('\n');
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i dot = _mm_set1_epi8('.');
  for (int i = 0; i < 4; ++i) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + 16 * i));
    const auto bits = [&](__m128i c) {
      return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, c)))) << (16 * i);
    };
    m.lf |= bits(lf);
    m.cr |= bits(cr);
    m.dot |= bits(dot);
  }
#else
  for (std::size_t i = 0; i < kBlock; ++i) {
    const std::uint64_t bit = std::uint64_t{1} << i;
    if (in[i] == '\n') m.lf |= bit;
    if (in[i] == '\r') m.cr |= bit;
    if (in[i] == '.') m.dot |= bit;
  }
#endif
  return m;
}

// Bit I set when IN[I] is a CR or LF, for the 64 bytes at IN.
std::uint64_t line_end_mask(const char* in) {
  const BlockMasks m = block_masks(in);
  return m.lf | m.cr;
}

// The same for the N (< 64) bytes at IN, with bit N set as if a line end followed them.
std::uint64_t tail_mask(const char* in, std::size_t n) {
  std::uint64_t mask = std::uint64_t{1} << n;
  for (std::size_t i = 0; i < n; ++i)
    if (in[i] == '\r' || in[i] == '\n') mask |= std::uint64_t{1} << i;
  return mask;
}

}  // namespace

MessageShape scan_message(std::string_view message) {
  // Every line end (CRLF, bare LF, bare CR) becomes two bytes, so the size grows by
  // LFs + CRs - 2 * CRLF pairs; any byte >= 0x80 needs 8BITMIME.
  const scan::Counts c = scan::count(message, scan::fastest());
  std::size_t size = message.size() + c.lf + c.cr - 2 * c.crlf;
  const char last = message.empty() ? '\n' : message.back();
  if (last != '\n' && last != '\r') size += 2;
  return {size, c.eight_bit};
}

std::size_t normalised_size(std::string_view message) { return scan_message(message).normalised_size; }

bool has_eight_bit(std::string_view message) { return scan_message(message).eight_bit; }

std::size_t DataEncoder::encode_into(char* out, std::size_t capacity) {
  if (finished_) return 0;
  char* o = out;
  char* const o_end = out + capacity;
  const char* p = in_.data() + pos_;
  const char* const end = in_.data() + in_.size();
  // Most steps take a whole 64-byte block decided by its masks: no line end (a copy), bare
  // LFs only (a copy, then each LF's CR written and the rest of the block stored again one
  // byte further on), or CRLF pairs only (a copy). The other steps (a bare CR, a CRLF cut by
  // the block's end, a dot to stuff inside the block, the message's last 128 bytes) copy the
  // bytes before the next line end and write it as CRLF. A step needs a stuffed dot and the
  // bare-LF case's reach of room (kMinCapacity).
  while (p < end && static_cast<std::size_t>(o_end - o) >= kMinCapacity) {
    if (at_line_start_) {
      at_line_start_ = false;
      if (*p == '.' && mode_ == Mode::kData) *o++ = '.';
    }
    const std::size_t left = static_cast<std::size_t>(end - p);
    if (left >= 2 * kBlock) {  // every store below reads at most 127 bytes past P
      const BlockMasks m = block_masks(p);
      std::memcpy(o, p, kBlock);
      const std::uint64_t stuffed = mode_ == Mode::kData ? (m.lf << 1) & m.dot : 0;
      if ((m.lf | m.cr) == 0 || (stuffed == 0 && m.cr == 0) ||
          (stuffed == 0 && m.lf == m.cr << 1 && (m.cr >> 63) == 0)) {
        std::size_t shift = 0;
        if (m.cr == 0) {
          for (std::uint64_t lf = m.lf; lf != 0; lf &= lf - 1) {
            const auto i = static_cast<std::size_t>(__builtin_ctzll(lf));
            o[i + shift] = '\r';
            ++shift;
            std::memcpy(o + i + shift, p + i, kBlock);  // ends at most 191 bytes past the block
          }
        }
        p += kBlock;
        o += kBlock + shift;
        at_line_start_ = (m.lf >> 63) != 0;
        continue;
      }
    }
    const std::uint64_t mask = left >= kBlock ? line_end_mask(p) : tail_mask(p, left);
    std::memcpy(o, p, std::min(left, kBlock));
    if (mask == 0) {
      p += kBlock;
      o += kBlock;
      continue;
    }
    const auto run = static_cast<std::size_t>(__builtin_ctzll(mask));
    p += run;
    o += run;
    if (p == end) break;
    // A CRLF pair, a bare CR and a bare LF each become one CRLF.
    const bool crlf = *p == '\r' && p + 1 < end && p[1] == '\n';
    *o++ = '\r';
    *o++ = '\n';
    p += crlf ? 2 : 1;
    at_line_start_ = true;
  }
  pos_ = static_cast<std::size_t>(p - in_.data());
  if (p == end) {
    // The tail: a CRLF unless the message ended with one, and DATA's terminator. The last
    // step began with kMinCapacity of room; it and the tail use at most 70 (a stuffed dot, a
    // whole block, then CRLF and ".\r\n"), which the encode_into test checks.
    if (!at_line_start_ && !in_.empty()) o = std::copy_n("\r\n", 2, o);
    if (mode_ == Mode::kData) o = std::copy_n(".\r\n", 3, o);
    at_line_start_ = true;
    finished_ = true;
  }
  return static_cast<std::size_t>(o - out);
}

bool DataEncoder::next_chunk(std::string& out, std::size_t target) {
  if (finished_) return false;
  do {
    const std::size_t had = out.size();
    const std::size_t wanted = target > had ? target - had : 0;
    const std::size_t room = std::clamp(wanted, kMinCapacity, kNextChunkStep);
    out.resize(had + room);
    out.resize(had + encode_into(out.data() + had, room));
  } while (out.size() < target && !finished_);
  return true;
}

std::string encode_message(std::string_view message, DataEncoder::Mode mode) {
  // At worst every byte doubles ("\n." is "\r\n.."), then the final CRLF and terminator.
  std::string out(2 * message.size() + DataEncoder::kMinCapacity, '\0');
  DataEncoder encoder(message, mode);
  out.resize(encoder.encode_into(out.data(), out.size()));
  if (!encoder.done()) throw std::logic_error("encode_message: the worst-case room was not enough");
  return out;
}

}  // namespace smtpn::smtp
