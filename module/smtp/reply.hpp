// SMTP replies (RFC 5321 §4.2): a bounded, incremental reader over a Transport that
// accepts multi-line replies, CRLF or bare-LF line ends, and enhanced status codes (RFC 3463).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/deadline.hpp"
#include "net/transport.hpp"

namespace smtpn::smtp {

struct Reply {
  int code = 0;
  std::string enhanced;            // "5.1.1", or empty
  std::vector<std::string> lines;  // each line's text after "NNN-" / "NNN "

  int klass() const { return code / 100; }
  std::string text() const;     // the lines joined with "\n"
  std::string summary() const;  // "550 5.1.1 text" (first line), for messages
};

struct ReplyLimits {
  std::size_t max_line = 4096;  // bytes in one reply line, line end included
  std::size_t max_lines = 512;  // lines in one reply
};

using TraceFn = std::function<void(std::string_view line)>;

// Parses one complete reply line (without its line end) into CODE, continuation flag and text.
// Returns false when the line is not "DDD", "DDD text", "DDD-text" with DDD in [2-5][0-5][0-9].
bool parse_reply_line(std::string_view line, int& code, bool& more, std::string_view& text);

// Extracts an RFC 3463 status ("2.0.0") from the front of TEXT if its class (2, 4 or 5)
// matches CODE's.
std::string parse_enhanced_status(int code, std::string_view text);

class ReplyReader {
 public:
  ReplyReader(net::Transport& transport, ReplyLimits limits, TraceFn trace);

  // Reads one whole reply; throws SmtpError(kProtocol) on malformed or oversized input and
  // net::NetError from the transport.
  Reply read(net::Deadline deadline);

  // Bytes already received but not yet consumed (must be none when TLS starts).
  bool has_buffered() const { return pos_ < buf_.size(); }

 private:
  std::string_view next_line(net::Deadline deadline);

  net::Transport& transport_;
  ReplyLimits limits_;
  TraceFn trace_;
  std::string buf_;
  std::size_t pos_ = 0;
};

}  // namespace smtpn::smtp
