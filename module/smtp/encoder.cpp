#include "smtp/encoder.hpp"

#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace smtpn::smtp {
namespace {

// memchr is vectorised in glibc: scanning with it is an order of magnitude faster than a
// byte loop, and messages are mostly long runs of ordinary bytes.
const char* find(const char* from, const char* end, char c) {
  return static_cast<const char*>(std::memchr(from, c, static_cast<std::size_t>(end - from)));
}

}  // namespace

MessageShape scan_message(std::string_view message) {
  // One pass for both facts: every line end (CRLF, bare LF, bare CR) becomes two bytes, so
  // the size grows by LFs + CRs - 2 * CRLF pairs; any byte >= 0x80 needs 8BITMIME.
  const auto* p = reinterpret_cast<const unsigned char*>(message.data());
  const std::size_t n = message.size();
  std::size_t lf = 0, cr = 0, pairs = 0, i = 0;
  unsigned high = 0;
  bool prev_cr = false;
#if defined(__SSE2__)
  // Sixteen bytes per step, counted in byte lanes (a match is -1: subtracting it adds one)
  // and summed every 255 steps before a lane can overflow. A pair is an LF whose previous
  // byte, read by a second load one byte back, is a CR; the first byte is left to the tail
  // loop's logic by starting at 1.
  if (n > 0) {
    lf = p[0] == '\n';
    cr = p[0] == '\r';
    prev_cr = p[0] == '\r';
    high = p[0] & 0x80U;
    i = 1;
  }
  const __m128i k_lf = _mm_set1_epi8('\n'), k_cr = _mm_set1_epi8('\r'), zero = _mm_setzero_si128();
  auto lanes_sum = [zero](__m128i acc) {
    const __m128i sums = _mm_sad_epu8(acc, zero);
    return static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) +
           static_cast<std::size_t>(_mm_cvtsi128_si32(_mm_unpackhi_epi64(sums, sums)));
  };
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
    lf += lanes_sum(acc_lf);
    cr += lanes_sum(acc_cr);
    pairs += lanes_sum(acc_pairs);
    high |= static_cast<unsigned>(_mm_movemask_epi8(acc_high));
  }
  if (i > 0) prev_cr = p[i - 1] == '\r';
#endif
  for (; i < n; ++i) {
    const unsigned char c = p[i];
    if (c == '\n') {
      ++lf;
      if (prev_cr) ++pairs;
    }
    if (c == '\r') ++cr;
    prev_cr = c == '\r';
    high |= c & 0x80U;
  }
  std::size_t size = n + lf + cr - 2 * pairs;
  const char last = message.empty() ? '\n' : message.back();
  if (last != '\n' && last != '\r') size += 2;
  return {size, high != 0};
}

std::size_t normalised_size(std::string_view message) { return scan_message(message).normalised_size; }

bool has_eight_bit(std::string_view message) { return scan_message(message).eight_bit; }

bool DataEncoder::next_chunk(std::string& out, std::size_t target) {
  if (finished_) return false;
  const char* end = in_.data() + in_.size();
  while (out.size() < target && pos_ < in_.size()) {
    const char* p = in_.data() + pos_;
    if (at_line_start_ && *p == '.' && mode_ == Mode::kData) out.push_back('.');
    // One line (or the part of it before a bare CR) per iteration.
    const char* lf = find(p, end, '\n');
    const char* line_end = lf ? lf : end;
    const char* cr = find(p, line_end, '\r');
    const char* stop = cr ? cr : line_end;
    out.append(p, static_cast<std::size_t>(stop - p));
    if (stop == end) {
      pos_ = in_.size();
      at_line_start_ = false;
      break;
    }
    // STOP is a CR or LF: a CRLF pair, bare CR and bare LF each become one CRLF.
    const bool crlf = *stop == '\r' && stop + 1 < end && stop[1] == '\n';
    out.append("\r\n", 2);
    pos_ = static_cast<std::size_t>(stop - in_.data()) + (crlf ? 2 : 1);
    at_line_start_ = true;
  }
  if (pos_ < in_.size()) return true;
  if (!at_line_start_ && !in_.empty()) out.append("\r\n", 2);
  at_line_start_ = true;
  if (mode_ == Mode::kData) out.append(".\r\n", 3);
  finished_ = true;
  return true;
}

std::string encode_message(std::string_view message, DataEncoder::Mode mode) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 8);
  DataEncoder encoder(message, mode);
  while (encoder.next_chunk(out, static_cast<std::size_t>(-1))) {
  }
  return out;
}

}  // namespace smtpn::smtp
