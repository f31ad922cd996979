// How a receiving server reads DATA, for the tests that check what the client wrote: the
// reference line-end normalisation, the CRLF-only check, and unstuffing with its framing checks.
#pragma once

#include <string>
#include <string_view>

#include "catch.hpp"

namespace smtpn::test {

// The reference: every CRLF, bare CR and bare LF becomes CRLF; a non-empty last line gets one.
inline std::string normalise(std::string_view m) {
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    if (m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n') {
      out += "\r\n";
      ++i;
    } else if (m[i] == '\r' || m[i] == '\n') {
      out += "\r\n";
    } else {
      out += m[i];
    }
  }
  if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0)) out += "\r\n";
  return out;
}

inline bool only_crlf_line_ends(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

// What a receiving server does with DATA: split at CRLF, stop at the lone ".", drop one
// leading dot from the other lines. Fails the test when the framing is not exactly right.
inline std::string decode_data(std::string_view wire) {
  REQUIRE(only_crlf_line_ends(wire));
  REQUIRE(wire.size() >= 3);
  REQUIRE(wire.substr(wire.size() - 3) == ".\r\n");
  REQUIRE((wire.size() == 3 || wire.substr(wire.size() - 5) == "\r\n.\r\n"));
  std::string out;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t end = wire.find("\r\n", pos);
    REQUIRE(end != std::string_view::npos);
    std::string_view line = wire.substr(pos, end - pos);
    pos = end + 2;
    if (line == ".") {
      CHECK(pos == wire.size());  // exactly one terminator, at the very end
      return out;
    }
    if (!line.empty() && line[0] == '.') {
      REQUIRE(line.size() >= 2);
      CHECK(line[1] == '.');  // every line starting with a dot was doubled
      line.remove_prefix(1);
    }
    out.append(line).append("\r\n");
  }
}

}  // namespace smtpn::test
