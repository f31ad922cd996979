// smtp::DataEncoder: CRLF normalisation and dot-stuffing. A property test over random bodies
// drawn mostly from "\r\n.a" (decode(encode(m)) == normalise(m); only CRLF line ends; no line
// with a lone leading dot; exactly one terminator), adversarial bodies with their exact wire
// form, chunked output equal to the whole, normalised_size equal to the BDAT payload, 25 MB.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "catch.hpp"
#include "data_framing.hpp"
#include "smtp/encoder.hpp"

using smtpn::smtp::DataEncoder;
using smtpn::smtp::encode_message;
using smtpn::smtp::has_eight_bit;
using smtpn::smtp::normalised_size;
namespace blocks = smtpn::smtp::blocks;
using Mode = DataEncoder::Mode;
using smtpn::test::decode_data;
using smtpn::test::normalise;
using smtpn::test::only_crlf_line_ends;

namespace {

std::string encode_chunked(std::string_view m, Mode mode, std::size_t target, std::size_t* calls = nullptr) {
  DataEncoder enc(m, mode);
  std::string whole;
  std::string chunk;
  std::size_t n = 0;
  while (enc.next_chunk(chunk, target)) {
    ++n;
    if (!enc.done()) CHECK(chunk.size() >= target);  // a chunk is short only at the end
    whole += chunk;
    chunk.clear();
  }
  CHECK(enc.done());
  CHECK_FALSE(enc.next_chunk(chunk, target));
  CHECK(chunk.empty());
  if (calls) *calls = n;
  return whole;
}

std::string random_body(std::mt19937_64& rng, std::size_t max_len) {
  static constexpr char kEdge[] = "\r\n.a";
  static constexpr char kOther[] = {'\0', ' ', 'Z', '\t', '\x7f', '\x80', '\xff', '-'};
  std::string m(rng() % (max_len + 1), ' ');
  for (auto& c : m) c = rng() % 8 != 0 ? kEdge[rng() % 4] : kOther[rng() % sizeof kOther];
  return m;
}

// Lines of ordinary text, as most messages are: long runs the encoder takes a 64-byte block at
// a time. ENDINGS are chosen from per line; now and then a line starts with a dot or is empty.
std::string random_lines(std::mt19937_64& rng, std::size_t lines, const std::vector<std::string>& endings) {
  std::string m;
  for (std::size_t i = 0; i < lines; ++i) {
    if (rng() % 16 == 0) m += '.';
    m.append(rng() % 4 == 0 ? rng() % 8 : rng() % 150, static_cast<char>('a' + rng() % 26));
    m += endings[rng() % endings.size()];
  }
  return m;
}

// Bodies for the block-at-a-time paths: LF-only, CRLF-only and mixed lines, and blocks that
// are all line ends (the most room one step needs).
std::vector<std::string> block_bodies(std::mt19937_64& rng) {
  std::vector<std::string> bodies;
  for (int i = 0; i < 300; ++i) {
    bodies.push_back(random_lines(rng, 1 + rng() % 40, {"\n"}));
    bodies.push_back(random_lines(rng, 1 + rng() % 40, {"\r\n"}));
    bodies.push_back(random_lines(rng, 1 + rng() % 40, {"\n", "\r\n", "\r"}));
  }
  for (std::size_t n : {127, 128, 129, 200, 300})
    for (const char* unit : {"\n", "\r\n", ".\n", "\n."}) {
      std::string m;
      while (m.size() < n) m += unit;
      bodies.push_back(m);
      bodies.push_back("x" + m);
    }
  return bodies;
}

}  // namespace

// The whole encoding of M with the block loop compiled for KERNEL.
std::string encode_with(std::string_view m, Mode mode, blocks::Kernel kernel) {
  DataEncoder encoder(m, mode, kernel);
  std::string out(2 * m.size() + DataEncoder::kMinCapacity, '\0');
  out.resize(encoder.encode_into(out.data(), out.size()));
  REQUIRE(encoder.done());
  return out;
}

TEST_CASE("line-structured bodies encode exactly with every block kernel", "[encoder]") {
  // Each kernel this CPU has (SSE2 always; AVX-512BW where present, as on the CI machines).
  const blocks::Kernel kernel = GENERATE(blocks::Kernel::kSse2, blocks::Kernel::kAvx512);
  if (!blocks::available(kernel)) return;
  CAPTURE(static_cast<int>(kernel));
  std::mt19937_64 rng(0xb10c);
  std::vector<std::string> bodies = block_bodies(rng);
  for (int i = 0; i < 300; ++i) bodies.push_back(random_body(rng, 400));
  for (const std::string& m : bodies) {
    CAPTURE(m);
    const std::string data = encode_with(m, Mode::kData, kernel);
    const std::string bdat = encode_with(m, Mode::kBdat, kernel);
    CHECK(decode_data(data) == normalise(m));
    CHECK(bdat == normalise(m));
    CHECK(normalised_size(m) == bdat.size());
  }
}

TEST_CASE("encoding then decoding a random body gives it back with CRLF line ends", "[encoder]") {
  std::mt19937_64 rng(0x5eed5);
  for (int i = 0; i < 5000; ++i) {
    const std::string m = random_body(rng, i < 4000 ? 24 : 300);
    CAPTURE(m);
    const std::string data = encode_message(m, Mode::kData);
    const std::string bdat = encode_message(m, Mode::kBdat);
    CHECK(decode_data(data) == normalise(m));
    CHECK(bdat == normalise(m));
    CHECK(only_crlf_line_ends(bdat));
    CHECK(normalised_size(m) == bdat.size());
    CHECK(encode_chunked(m, Mode::kData, 1) == data);
    CHECK(encode_chunked(m, Mode::kData, 7) == data);
    CHECK(encode_chunked(m, Mode::kBdat, 7) == bdat);
  }
}

TEST_CASE("adversarial bodies get their exact wire form", "[encoder]") {
  struct Case {
    std::string body, data, bdat;
  };
  using namespace std::string_literals;
  const Case c = GENERATE(values<Case>({
      {"\n.\n", "\r\n..\r\n.\r\n", "\r\n.\r\n"},
      {"\r.\r", "\r\n..\r\n.\r\n", "\r\n.\r\n"},
      {"\r.\n", "\r\n..\r\n.\r\n", "\r\n.\r\n"},
      {"\n.\r\n", "\r\n..\r\n.\r\n", "\r\n.\r\n"},
      {"\r\n.\n", "\r\n..\r\n.\r\n", "\r\n.\r\n"},
      {"\r\n\0.\r\n"s, "\r\n\0.\r\n.\r\n"s, "\r\n\0.\r\n"s},
      {"\r\r\n", "\r\n\r\n.\r\n", "\r\n\r\n"},
      {"\n\r", "\r\n\r\n.\r\n", "\r\n\r\n"},
      {".", "..\r\n.\r\n", ".\r\n"},
      {".\r\n", "..\r\n.\r\n", ".\r\n"},
      {"..", "...\r\n.\r\n", "..\r\n"},
      {"a\r\n.\r\n", "a\r\n..\r\n.\r\n", "a\r\n.\r\n"},  // the terminator inside a body
      {"a\r\n.\r\nMAIL FROM:<x>\r\n", "a\r\n..\r\nMAIL FROM:<x>\r\n.\r\n", "a\r\n.\r\nMAIL FROM:<x>\r\n"},
      {"no final newline", "no final newline\r\n.\r\n", "no final newline\r\n"},
      {"a.b\r\n .c", "a.b\r\n .c\r\n.\r\n", "a.b\r\n .c\r\n"},
      {"", ".\r\n", ""},
      {"\r\n", "\r\n.\r\n", "\r\n"},
  }));
  CAPTURE(c.body);
  CHECK(encode_message(c.body, Mode::kData) == c.data);
  CHECK(encode_message(c.body, Mode::kBdat) == c.bdat);
  CHECK(normalised_size(c.body) == c.bdat.size());
  CHECK(encode_chunked(c.body, Mode::kData, 1) == c.data);
}

TEST_CASE("chunked output equals the whole output for any chunk size", "[encoder]") {
  std::mt19937_64 rng(42);
  std::string m;
  for (int i = 0; i < 3000; ++i) m += random_body(rng, 40) + "line of text " + std::to_string(i) + "\n";
  const std::string data = encode_message(m, Mode::kData);
  const std::string bdat = encode_message(m, Mode::kBdat);
  const std::size_t target = GENERATE(1, 2, 3, 7, 64, 4096, 1 << 20);
  CAPTURE(target);
  std::size_t calls = 0;
  CHECK(encode_chunked(m, Mode::kData, target, &calls) == data);
  CHECK(calls >= data.size() / (target + 200));  // one target (plus at most a line) per chunk
  CHECK(encode_chunked(m, Mode::kBdat, target) == bdat);
}

TEST_CASE("encode_into fills a buffer of any capacity without writing past it", "[encoder]") {
  // The session's buffer is exactly its capacity: every stop (inside a 64-byte block, before
  // a line end, before the terminator) must leave the bytes past it untouched.
  constexpr char kGuard = '\x5a';
  constexpr std::size_t kGuardBytes = 80;
  const blocks::Kernel kernel = GENERATE(blocks::Kernel::kSse2, blocks::Kernel::kAvx512);
  if (!blocks::available(kernel)) return;
  CAPTURE(static_cast<int>(kernel));
  // Random bodies, and long runs between line ends (a dot-stuffed line filling whole blocks
  // up to the end of the message is what needs the most room in one step).
  std::mt19937_64 rng(0xcafe);
  std::vector<std::string> bodies;
  for (int i = 0; i < 1000; ++i) bodies.push_back(random_body(rng, 260));
  for (std::size_t run = 0; run < 140; ++run)
    for (const char* head : {"", ".", "a\n.", "\r\n."})
      for (const char* tail : {"", "\n", "\r\n", "\r"}) bodies.push_back(head + std::string(run, 'x') + tail);
  for (std::string& m : block_bodies(rng)) bodies.push_back(std::move(m));
  for (std::size_t i = 0; i < 2 * bodies.size(); ++i) {
    const std::string& m = bodies[i / 2];
    const Mode mode = i % 2 == 0 ? Mode::kData : Mode::kBdat;
    const std::size_t capacity = DataEncoder::kMinCapacity + rng() % 64 * (rng() % 2);
    CAPTURE(m, capacity);
    DataEncoder enc(m, mode, kernel);
    std::string whole;
    std::vector<char> buffer(capacity + kGuardBytes);
    while (!enc.done()) {
      std::fill(buffer.begin(), buffer.end(), kGuard);
      const std::size_t n = enc.encode_into(buffer.data(), capacity);
      REQUIRE(n <= capacity);
      REQUIRE(std::all_of(buffer.begin() + static_cast<std::ptrdiff_t>(capacity), buffer.end(),
                          [](char c) { return c == kGuard; }));
      whole.append(buffer.data(), n);
    }
    CHECK(enc.encode_into(buffer.data(), capacity) == 0);
    CHECK(whole == encode_message(m, mode));
  }
}

TEST_CASE("has_eight_bit spots any byte above 0x7f", "[encoder]") {
  CHECK_FALSE(has_eight_bit(""));
  CHECK_FALSE(has_eight_bit(std::string("plain \x7f ascii\r\n\0", 17)));
  CHECK(has_eight_bit("caf\xc3\xa9"));
  CHECK(has_eight_bit("\x80"));
  CHECK(has_eight_bit(std::string(1000, 'a') + "\xff"));
}

TEST_CASE("a 25 MB body is encoded exactly, in few large chunks", "[encoder][large]") {
  // Lines of every kind: CRLF, bare LF, bare CR, leading dots, long lines, a lone dot.
  const std::vector<std::string> kinds = {"Received: from somewhere by somewhere else\r\n",
                                          ".leading dot\n",
                                          "bare carriage return\r",
                                          ".\r\n",
                                          std::string(998, 'x') + "\r\n",
                                          "\n",
                                          "..two dots\r\n",
                                          "8-bit caf\xc3\xa9\r\n"};
  std::string m;
  m.reserve(25u << 20);
  for (std::size_t i = 0; m.size() < (25u << 20); ++i) m += kinds[(i * 7 + i / 3) % kinds.size()];
  m += "no newline at the very end.";

  const std::string data = encode_message(m, Mode::kData);
  const std::string bdat = encode_message(m, Mode::kBdat);

  const std::string norm = normalise(m);
  CHECK(bdat == norm);
  CHECK(normalised_size(m) == norm.size());
  CHECK(decode_data(data) == norm);

  // The way the session streams it: 512 KiB per write.
  std::size_t calls = 0;
  CHECK(encode_chunked(m, Mode::kData, 512 * 1024, &calls) == data);
  CHECK(calls <= data.size() / (512 * 1024) + 1);
}
