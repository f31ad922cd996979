// libFuzzer target for smtp::DataEncoder: the input is a message. The DATA form has CRLF line
// ends only, no line starting with a lone ".", exactly one "\r\n.\r\n" (at the end), and
// undoing the dot-stuffing gives the BDAT form, which is the input with every line end (CRLF,
// bare CR, bare LF) made one CRLF and a last CRLF added when missing; normalised_size() is its
// size; output cut into chunks of any size (sizes taken from the input), or written into
// fixed buffers of any capacity the encoder accepts, is the same bytes; and
// every scan kernel the CPU runs (SSE2, AVX2) counts what the byte-by-byte one counts.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "smtp/encoder.hpp"
#include "smtp/scan_kernels.hpp"
#include "property.hpp"

namespace {

using smtpn::smtp::DataEncoder;
using Mode = DataEncoder::Mode;

using smtpn::fuzz::require;

// Line ends made CRLF, byte by byte (the encoder's rule, written the slow obvious way).
std::string reference_normalised(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (in[i] == '\n') {
      out += "\r\n";
    } else {
      out += in[i];
    }
  }
  if (!out.empty() && (out.size() < 2 || out.compare(out.size() - 2, 2, "\r\n") != 0)) out += "\r\n";
  return out;
}

bool no_bare_line_ends(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 == s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

// Encodes in chunks whose targets are read from SIZES (cycling), each into a fresh buffer as
// the session does, and returns the concatenation.
std::string chunked(std::string_view message, Mode mode, std::string_view sizes) {
  DataEncoder encoder(message, mode);
  std::string all;
  std::string chunk;
  std::size_t k = 0;
  for (;;) {
    const std::size_t target =
        sizes.empty() ? 1 : 1 + static_cast<unsigned char>(sizes[k++ % sizes.size()]) % 64;
    const bool more = encoder.next_chunk(chunk, target);
    if (!more) {
      require(chunk.empty() && encoder.done(), "a finished encoder adds nothing");
      return all;
    }
    require(!chunk.empty() || (message.empty() && mode == Mode::kBdat),
            "only an empty BDAT body is an empty chunk");
    all += chunk;
    chunk.clear();
  }
}

// Encodes with encode_into into buffers of exactly the capacities read from SIZES (cycling,
// kMinCapacity and up), as the session's fixed buffer is filled; a write past one is an
// AddressSanitizer report. Returns the concatenation.
std::string into_buffers(std::string_view message, Mode mode, std::string_view sizes) {
  DataEncoder encoder(message, mode);
  std::string all;
  std::size_t k = 0;
  while (!encoder.done()) {
    const std::size_t capacity =
        DataEncoder::kMinCapacity + (sizes.empty() ? 0 : static_cast<unsigned char>(sizes[k++ % sizes.size()]) % 128);
    const std::unique_ptr<char[]> buffer(new char[capacity]);
    const std::size_t n = encoder.encode_into(buffer.get(), capacity);
    require(n <= capacity, "encode_into writes at most its capacity");
    all.append(buffer.get(), n);
  }
  require(encoder.encode_into(nullptr, 0) == 0, "a finished encoder writes nothing");
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view message(reinterpret_cast<const char*>(data), size);
  const std::string wire = smtpn::smtp::encode_message(message, Mode::kData);
  const std::string bdat = smtpn::smtp::encode_message(message, Mode::kBdat);

  require(bdat == reference_normalised(message), "BDAT form: line ends normalised to CRLF, last one added");
  require(smtpn::smtp::normalised_size(message) == bdat.size(), "normalised_size is the BDAT size");
  namespace scan = smtpn::smtp::scan;
  const scan::Counts bytes = scan::count(message, scan::Kernel::kBytes);
  for (const auto kernel : {scan::Kernel::kSse2, scan::Kernel::kAvx2, scan::Kernel::kAvx512}) {
    if (!scan::available(kernel)) continue;
    const scan::Counts c = scan::count(message, kernel);
    require(c.lf == bytes.lf && c.cr == bytes.cr && c.crlf == bytes.crlf && c.eight_bit == bytes.eight_bit,
            "every scan kernel counts what the byte kernel counts");
  }
  namespace blocks = smtpn::smtp::blocks;
  for (const auto kernel : {blocks::Kernel::kSse2, blocks::Kernel::kAvx512}) {
    if (!blocks::available(kernel)) continue;
    for (const auto mode : {Mode::kData, Mode::kBdat}) {
      smtpn::smtp::DataEncoder encoder(message, mode, kernel);
      std::string out(2 * message.size() + smtpn::smtp::DataEncoder::kMinCapacity, '\0');
      out.resize(encoder.encode_into(out.data(), out.size()));
      require(encoder.done() && out == (mode == Mode::kData ? wire : bdat),
              "every block kernel encodes what the default one does");
    }
  }

  require(wire.size() >= 3 && wire.compare(wire.size() - 3, 3, ".\r\n") == 0, "DATA ends with .CRLF");
  const std::string_view body = std::string_view(wire).substr(0, wire.size() - 3);
  require(body.empty() || (body.size() >= 2 && body.substr(body.size() - 2) == "\r\n"),
          "the terminator follows a line end");
  require(no_bare_line_ends(wire), "no bare CR or LF on the wire");
  const std::size_t first_end = wire.size() == 3 ? 0 : wire.find("\r\n.\r\n");
  require(wire.size() == 3 || first_end == wire.size() - 5, "exactly one CRLF.CRLF, at the end");

  // Undo the dot-stuffing line by line: each line that starts with "." must start with "..".
  std::string unstuffed;
  for (std::size_t pos = 0; pos < body.size();) {
    const std::size_t end = body.find("\r\n", pos);
    const std::string_view line = body.substr(pos, end - pos);
    if (!line.empty() && line[0] == '.') {
      require(line.size() >= 2 && line[1] == '.', "no line starts with a single dot");
      unstuffed.append(line.substr(1));
    } else {
      unstuffed.append(line);
    }
    unstuffed += "\r\n";
    pos = end + 2;
  }
  require(unstuffed == bdat, "unstuffing DATA gives the BDAT form");

  bool eight = false;
  for (char c : message) eight = eight || static_cast<unsigned char>(c) >= 0x80;
  require(smtpn::smtp::has_eight_bit(message) == eight, "has_eight_bit sees every byte");

  require(chunked(message, Mode::kData, message) == wire, "DATA in chunks equals DATA at once");
  require(chunked(message, Mode::kBdat, message) == bdat, "BDAT in chunks equals BDAT at once");
  require(chunked(message, Mode::kData, {}) == wire, "DATA one byte target at a time equals DATA at once");
  require(into_buffers(message, Mode::kData, message) == wire, "DATA into fixed buffers equals DATA at once");
  require(into_buffers(message, Mode::kBdat, {}) == bdat, "BDAT into the smallest buffers equals BDAT at once");
  return 0;
}
