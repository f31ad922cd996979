// libFuzzer target for smtp::ReplyReader: the input is everything a server sends. The reader's
// verdict (the replies read, then why it stopped) must equal a reference reading of RFC 5321
// §4.2's grammar (code %x32-35 %x30-35 %x30-39, "DDD", "DDD SP text", "DDD-text", one code per
// reply) and RFC 3463's enhanced status; the line and line-count bounds hold; and the verdict
// is the same however the bytes are cut into reads.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/error.hpp"
#include "net/transport.hpp"
#include "smtp/error.hpp"
#include "smtp/reply.hpp"
#include "property.hpp"

namespace {

using smtpn::net::Deadline;
using smtpn::net::NetError;
using smtpn::smtp::Reply;
using smtpn::smtp::ReplyLimits;
using smtpn::smtp::ReplyReader;
using smtpn::smtp::SmtpError;

// Small bounds, so short inputs reach them.
constexpr ReplyLimits kLimits{64, 6};

using smtpn::fuzz::require;

// The server's bytes, handed out in the given segment sizes (the last one repeats).
class ChunkedTransport final : public smtpn::net::Transport {
 public:
  ChunkedTransport(std::string_view bytes, std::vector<std::size_t> cuts)
      : bytes_(bytes), cuts_(std::move(cuts)) {}

  std::size_t read_some(char* buf, std::size_t size, Deadline) override {
    if (pos_ == bytes_.size()) throw NetError(NetError::Kind::kClosed, "EOF");
    std::size_t n = cuts_.empty() ? bytes_.size() : cuts_[std::min(next_++, cuts_.size() - 1)];
    n = std::min({n, size, bytes_.size() - pos_});
    require(n > 0, "a read asks for at least one byte");
    bytes_.copy(buf, n, pos_);
    pos_ += n;
    return n;
  }
  void write_all(std::string_view, Deadline) override {}
  bool has_pending_input() override { return false; }
  smtpn::net::TlsInfo start_tls(const smtpn::net::TlsOptions&, Deadline) override { return {}; }
  bool is_tls() const override { return false; }
  bool peer_is_loopback() const override { return true; }
  std::string peer_address() const override { return "127.0.0.1"; }
  void close() noexcept override {}

 private:
  std::string_view bytes_;
  std::vector<std::size_t> cuts_;
  std::size_t pos_ = 0;
  std::size_t next_ = 0;
};

enum class Stop { kEof, kTooLong, kMalformed, kCodeChanged, kTooManyLines };

struct Verdict {
  std::vector<Reply> replies;
  Stop stop = Stop::kEof;

  bool operator==(const Verdict& o) const {
    if (stop != o.stop || replies.size() != o.replies.size()) return false;
    for (std::size_t i = 0; i < replies.size(); ++i)
      if (replies[i].code != o.replies[i].code || replies[i].enhanced != o.replies[i].enhanced ||
          replies[i].lines != o.replies[i].lines)
        return false;
    return true;
  }
};

Stop classify(const SmtpError& e) {
  require(e.kind() == SmtpError::Kind::kProtocol, "the reader fails only with protocol errors");
  // By the message's start: a malformed line is quoted after it and may say anything.
  const std::string_view m = e.what();
  auto starts = [&](std::string_view prefix) { return m.substr(0, prefix.size()) == prefix; };
  if (starts("the server sent a reply line longer than")) return Stop::kTooLong;
  if (starts("the server sent a malformed reply line")) return Stop::kMalformed;
  if (starts("the server changed the reply code")) return Stop::kCodeChanged;
  if (starts("the server sent a reply of more than")) return Stop::kTooManyLines;
  require(false, "a protocol error says which rule was broken");
  return Stop::kEof;
}

Verdict read_all(std::string_view bytes, std::vector<std::size_t> cuts) {
  ChunkedTransport transport(bytes, std::move(cuts));
  std::vector<std::string> traced;
  ReplyReader reader(transport, kLimits, [&](std::string_view line) { traced.emplace_back(line); });
  Verdict v;
  try {
    for (;;) {
      const std::size_t before = traced.size();
      v.replies.push_back(reader.read(Deadline::after_seconds(60)));
      require(traced.size() - before == v.replies.back().lines.size(), "every line read is traced once");
    }
  } catch (const NetError& e) {
    require(e.kind() == NetError::Kind::kClosed, "only the end of input stops the transport");
    v.stop = Stop::kEof;
  } catch (const SmtpError& e) {
    v.stop = classify(e);
  }
  return v;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// RFC 3463: class "." 1*3digit "." 1*3digit, class one of 2, 4, 5 and equal to the reply's.
std::string reference_enhanced(int code, std::string_view text) {
  if (text.empty() || (text[0] != '2' && text[0] != '4' && text[0] != '5') || text[0] - '0' != code / 100)
    return {};
  std::size_t i = 1;
  for (int part = 0; part < 2; ++part) {
    if (i >= text.size() || text[i] != '.') return {};
    const std::size_t start = ++i;
    while (i < text.size() && digit(text[i])) ++i;
    if (i == start || i - start > 3) return {};
  }
  if (i < text.size() && text[i] != ' ') return {};
  return std::string(text.substr(0, i));
}

// RFC 5321 §4.2 read straight from the bytes, with the same bounds.
Verdict reference(std::string_view bytes) {
  Verdict v;
  std::size_t pos = 0;
  for (;;) {
    Reply reply;
    for (;;) {
      const std::size_t nl = bytes.find('\n', pos);
      if (nl == std::string_view::npos) {
        v.stop = bytes.size() - pos >= kLimits.max_line ? Stop::kTooLong : Stop::kEof;
        return v;
      }
      if (nl - pos + 1 > kLimits.max_line) {
        v.stop = Stop::kTooLong;
        return v;
      }
      std::string_view line = bytes.substr(pos, nl - pos);
      pos = nl + 1;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      const bool grammar = line.size() >= 3 && line[0] >= '2' && line[0] <= '5' && line[1] >= '0' &&
                           line[1] <= '5' && digit(line[2]) &&
                           (line.size() == 3 || line[3] == ' ' || line[3] == '-');
      if (!grammar) {
        v.stop = Stop::kMalformed;
        return v;
      }
      const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      const std::string_view text = line.size() > 3 ? line.substr(4) : std::string_view();
      if (reply.lines.empty()) {
        reply.code = code;
        reply.enhanced = reference_enhanced(code, text);
      } else if (code != reply.code) {
        v.stop = Stop::kCodeChanged;
        return v;
      }
      if (reply.lines.size() >= kLimits.max_lines) {
        v.stop = Stop::kTooManyLines;
        return v;
      }
      reply.lines.emplace_back(text);
      if (line.size() == 3 || line[3] == ' ') break;
    }
    v.replies.push_back(std::move(reply));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  const Verdict whole = read_all(bytes, {});
  for (const Reply& r : whole.replies) {
    require(r.code >= 200 && r.code <= 559 && r.code % 100 <= 59, "the code is [2-5][0-5][0-9]");
    require(!r.lines.empty() && r.lines.size() <= kLimits.max_lines, "a reply has 1..max_lines lines");
    for (const std::string& line : r.lines)
      require(line.size() + 4 <= kLimits.max_line, "a line fits the line bound");
    require(r.enhanced.empty() || r.enhanced[0] - '0' == r.klass(),
            "the enhanced status has the reply's class");
  }
  require(whole == reference(bytes), "the reader agrees with RFC 5321's grammar and the bounds");

  // Cut the same bytes where the input itself says (segment sizes 1..16 from its bytes), and
  // one byte per read: nothing may depend on how the bytes arrive.
  std::vector<std::size_t> cuts;
  for (std::size_t i = 0; i < size; i += cuts.back()) cuts.push_back(1 + data[i] % 16);
  require(read_all(bytes, cuts) == whole, "chunked reads give the one-shot verdict");
  require(read_all(bytes, {1}) == whole, "byte-at-a-time reads give the one-shot verdict");
  return 0;
}
