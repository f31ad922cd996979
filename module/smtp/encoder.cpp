#include "smtp/encoder.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "smtp/encoder_blocks.hpp"
#include "smtp/scan_kernels.hpp"

namespace smtpn::smtp {
namespace {

using blocks::kBlock;
// next_chunk grows its string by at most this much a step (a target may be "everything").
constexpr std::size_t kNextChunkStep = std::size_t{1} << 20;

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
  // Most steps take whole 64-byte blocks (encoder_blocks.hpp): plain text (a copy), bare LFs
  // (a copy, then each LF's CR written and the rest of the block stored again one byte on)
  // or CRLF pairs only (a copy). The general step below takes the rest (a bare CR, a CRLF cut
  // by a block's end, a dot to stuff, the message's last 128 bytes): it copies the bytes
  // before the next line end and writes that as CRLF. A step needs a stuffed dot and the
  // bare-LF blocks' reach of room (kMinCapacity).
  const blocks::TakeBlocks take_blocks = blocks::take_blocks(kernel_);
  const bool stuff_dots = mode_ == Mode::kData;
  while (p < end && static_cast<std::size_t>(o_end - o) >= kMinCapacity) {
    blocks::Cursor cursor{p, o, at_line_start_};
    take_blocks(cursor, end, o_end - kMinCapacity, stuff_dots);
    p = cursor.in;
    o = cursor.out;
    at_line_start_ = cursor.at_line_start;
    if (p == end || static_cast<std::size_t>(o_end - o) < kMinCapacity) break;
    if (at_line_start_) {
      at_line_start_ = false;
      if (*p == '.' && stuff_dots) *o++ = '.';
    }
    const std::size_t left = static_cast<std::size_t>(end - p);
    const std::uint64_t mask = left >= kBlock ? blocks::line_end_mask(p) : tail_mask(p, left);
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
