#include "smtp/encoder.hpp"

namespace smtpn::smtp {
namespace {

// Length of the run of ordinary bytes (no CR or LF) starting at FROM.
std::size_t plain_run(std::string_view s, std::size_t from) {
  std::size_t i = from;
  while (i < s.size() && s[i] != '\r' && s[i] != '\n') ++i;
  return i - from;
}

}  // namespace

std::size_t normalised_size(std::string_view message) {
  std::size_t size = 0;
  bool at_line_start = true;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
      size += 2;
      at_line_start = true;
    } else {
      ++size;
      at_line_start = false;
    }
  }
  if (!at_line_start) size += 2;
  return size;
}

bool has_eight_bit(std::string_view message) {
  for (unsigned char c : message)
    if (c >= 0x80) return true;
  return false;
}

bool DataEncoder::next_chunk(std::string& out, std::size_t target) {
  if (finished_) return false;
  while (out.size() < target && pos_ < in_.size()) {
    const char c = in_[pos_];
    if (c == '\r' || c == '\n') {
      pos_ += (c == '\r' && pos_ + 1 < in_.size() && in_[pos_ + 1] == '\n') ? 2 : 1;
      out.append("\r\n", 2);
      at_line_start_ = true;
      continue;
    }
    if (at_line_start_ && c == '.' && mode_ == Mode::kData) out.push_back('.');
    const std::size_t run = plain_run(in_, pos_);
    out.append(in_.data() + pos_, run);
    pos_ += run;
    at_line_start_ = false;
  }
  if (pos_ < in_.size()) return true;
  if (!at_line_start_) {
    out.append("\r\n", 2);
    at_line_start_ = true;
  }
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
