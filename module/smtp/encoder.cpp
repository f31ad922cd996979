#include "smtp/encoder.hpp"

#include <cstdint>
#include <cstring>

namespace smtpn::smtp {
namespace {

// memchr is vectorised in glibc: scanning with it is an order of magnitude faster than a
// byte loop, and messages are mostly long runs of ordinary bytes.
const char* find(const char* from, const char* end, char c) {
  return static_cast<const char*>(std::memchr(from, c, static_cast<std::size_t>(end - from)));
}

std::size_t count(std::string_view s, char c) {
  std::size_t n = 0;
  const char* end = s.data() + s.size();
  for (const char* p = find(s.data(), end, c); p; p = find(p + 1, end, c)) ++n;
  return n;
}

}  // namespace

std::size_t normalised_size(std::string_view message) {
  // Every line end (CRLF, bare LF, bare CR) becomes two bytes: count CRLF pairs once.
  const char* begin = message.data();
  const char* end = begin + message.size();
  std::size_t pairs = 0;
  for (const char* p = find(begin, end, '\r'); p; p = find(p + 1, end, '\r'))
    if (p + 1 < end && p[1] == '\n') ++pairs;
  const std::size_t bare = count(message, '\n') + count(message, '\r') - 2 * pairs;
  std::size_t size = message.size() + bare;
  const char last = message.empty() ? '\n' : message.back();
  if (last != '\n' && last != '\r') size += 2;
  return size;
}

bool has_eight_bit(std::string_view message) {
  // Eight bytes at a time; the compiler vectorises the OR.
  std::uint64_t acc = 0;
  std::size_t i = 0;
  for (; i + 8 <= message.size(); i += 8) {
    std::uint64_t word;
    std::memcpy(&word, message.data() + i, 8);
    acc |= word;
  }
  for (; i < message.size(); ++i) acc |= static_cast<unsigned char>(message[i]);
  return (acc & 0x8080808080808080ULL) != 0;
}

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
