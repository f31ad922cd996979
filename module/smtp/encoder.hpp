// The message encoder: CRLF line ends only (bare CR and bare LF become CRLF), every line that
// starts with "." doubled, and exactly one terminating ".\r\n" — produced in large chunks so
// a 25 MB message goes out in a few hundred writes, not one syscall per line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "smtp/encoder_blocks.hpp"

namespace smtpn::smtp {

// Both facts below from one pass over MESSAGE (what a send needs before it starts).
struct MessageShape {
  std::size_t normalised_size;
  bool eight_bit;
};
MessageShape scan_message(std::string_view message);

// Size of MESSAGE after line-end normalisation (and a final CRLF when missing): what RFC 1870
// SIZE declares and what a BDAT chunk carries.
std::size_t normalised_size(std::string_view message);

// True when MESSAGE has a byte >= 0x80 (needs BODY=8BITMIME).
bool has_eight_bit(std::string_view message);

class DataEncoder {
 public:
  enum class Mode {
    kData,  // for DATA: normalised, dot-stuffed, terminated by ".\r\n"
    kBdat,  // for BDAT: normalised only
  };
  // The least room encode_into needs: a 64-byte block of bare LFs, whose last LF's CR lands
  // at 126 and is followed by a 64-byte store (a stuffed dot before the block leaves one LF
  // fewer in it; a short last step and the tail, a CRLF and ".\r\n", need less).
  static constexpr std::size_t kMinCapacity = 191;

  // KERNEL: the instruction set of the block loop (tests name each one).
  DataEncoder(std::string_view message, Mode mode, blocks::Kernel kernel = blocks::fastest())
      : in_(message), mode_(mode), kernel_(kernel) {}

  // Writes the next encoded bytes into OUT, at most CAPACITY (>= kMinCapacity) of them, and
  // returns how many. The session's hot path: the caller's buffer is written once, never
  // zero-filled or grown. done() turns true with the call that wrote the last byte.
  std::size_t encode_into(char* out, std::size_t capacity);

  // Appends encoded bytes to OUT until it holds at least TARGET bytes or the input is done.
  // Returns false once everything (terminator included) has been produced.
  bool next_chunk(std::string& out, std::size_t target);
  bool done() const { return finished_; }

 private:
  std::string_view in_;
  Mode mode_;
  blocks::Kernel kernel_;
  std::size_t pos_ = 0;
  bool at_line_start_ = true;
  bool finished_ = false;
};

// The whole encoding at once (tests, small messages).
std::string encode_message(std::string_view message, DataEncoder::Mode mode);

}  // namespace smtpn::smtp
