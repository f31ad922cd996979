#include "smtp/encoder.hpp"

#include <cstring>

#include "smtp/scan_kernels.hpp"

namespace smtpn::smtp {
namespace {

// memchr is vectorised in glibc: scanning with it is an order of magnitude faster than a
// byte loop, and messages are mostly long runs of ordinary bytes.
const char* find(const char* from, const char* end, char c) {
  return static_cast<const char*>(std::memchr(from, c, static_cast<std::size_t>(end - from)));
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
