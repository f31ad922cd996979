#include "smtp/reply.hpp"

#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

constexpr std::size_t kReadChunk = 16 * 1024;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string Reply::text() const {
  std::string out;
  for (const auto& line : lines) {
    if (!out.empty()) out.push_back('\n');
    out += line;
  }
  return out;
}

std::string Reply::summary() const {
  std::string out = std::to_string(code);
  if (!lines.empty() && !lines.front().empty()) out += " " + lines.front();
  return out;
}

bool parse_reply_line(std::string_view line, int& code, bool& more, std::string_view& text) {
  if (line.size() < 3 || !is_digit(line[0]) || !is_digit(line[1]) || !is_digit(line[2])) return false;
  // RFC 5321 §4.2: Reply-code = %x32-35 %x30-35 %x30-39.
  if (line[0] < '2' || line[0] > '5' || line[1] > '5') return false;
  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  if (line.size() == 3) {
    more = false;
    text = {};
    return true;
  }
  if (line[3] != ' ' && line[3] != '-') return false;
  more = line[3] == '-';
  text = line.substr(4);
  return true;
}

std::string parse_enhanced_status(int code, std::string_view text) {
  // class "." subject(1-3 digits) "." detail(1-3 digits), then a space or the end; RFC 3463
  // defines classes 2, 4 and 5 only, so a 3xx reply has none.
  const int klass = code / 100;
  if (klass != 2 && klass != 4 && klass != 5) return {};
  if (text.size() < 5 || text[0] - '0' != klass || text[1] != '.') return {};
  std::size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i]) && i - start < 4) ++i;
    if (i == start || i - start > 3) return {};
    if (part == 0) {
      if (i >= text.size() || text[i] != '.') return {};
      ++i;
    }
  }
  if (i < text.size() && text[i] != ' ') return {};
  return std::string(text.substr(0, i));
}

ReplyReader::ReplyReader(net::Transport& transport, ReplyLimits limits, TraceFn trace)
    : transport_(transport), limits_(limits), trace_(std::move(trace)) {}

std::string_view ReplyReader::next_line(net::Deadline deadline) {
  for (;;) {
    const std::size_t nl = buf_.find('\n', pos_);
    if (nl != std::string::npos) {
      if (nl - pos_ + 1 > limits_.max_line)
        throw SmtpError(SmtpError::Kind::kProtocol, "the server sent a reply line longer than " +
                                                        std::to_string(limits_.max_line) + " bytes");
      std::string_view line(buf_.data() + pos_, nl - pos_);
      pos_ = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      return line;
    }
    if (buf_.size() - pos_ >= limits_.max_line)
      throw SmtpError(SmtpError::Kind::kProtocol, "the server sent a reply line longer than " +
                                                      std::to_string(limits_.max_line) + " bytes");
    // Compact before growing so the buffer never holds more than one line plus a read.
    if (pos_ > 0) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    const std::size_t old = buf_.size();
    buf_.resize(old + kReadChunk);
    const std::size_t got = transport_.read_some(buf_.data() + old, kReadChunk, deadline);
    buf_.resize(old + got);
  }
}

Reply ReplyReader::read(net::Deadline deadline) {
  Reply reply;
  for (;;) {
    const std::string_view line = next_line(deadline);
    if (trace_) trace_(std::string("S: ").append(line));
    int code = 0;
    bool more = false;
    std::string_view text;
    if (!parse_reply_line(line, code, more, text))
      throw SmtpError(SmtpError::Kind::kProtocol,
                      "the server sent a malformed reply line: \"" + std::string(line.substr(0, 80)) + "\"");
    if (reply.lines.empty()) {
      reply.code = code;
      reply.enhanced = parse_enhanced_status(code, text);
    } else if (code != reply.code) {
      throw SmtpError(SmtpError::Kind::kProtocol, "the server changed the reply code within one reply (" +
                                                      std::to_string(reply.code) + " then " +
                                                      std::to_string(code) + ")");
    }
    if (reply.lines.size() >= limits_.max_lines)
      throw SmtpError(SmtpError::Kind::kProtocol,
                      "the server sent a reply of more than " + std::to_string(limits_.max_lines) + " lines");
    reply.lines.emplace_back(text);
    if (!more) return reply;
  }
}

}  // namespace smtpn::smtp
