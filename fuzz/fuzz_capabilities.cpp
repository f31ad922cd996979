// libFuzzer target for smtp::parse_capabilities: each input line is one line of a 250 EHLO
// reply (the first is the greeting). What it extracts must equal a reference reading of the
// keyword lines: flags from the first word only, case-insensitively; AUTH (and legacy AUTH=)
// mechanisms upper-cased, without duplicates, each one a word of the input; SIZE only when its
// parameter is a positive decimal that fits 64 bits.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/capabilities.hpp"
#include "smtp/reply.hpp"
#include "property.hpp"

namespace {

using smtpn::smtp::Capabilities;
using smtpn::smtp::Reply;

using smtpn::fuzz::require;

std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// RFC 5321 §4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ); we also allow tabs and runs.
std::vector<std::string_view> split_words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  for (;;) {
    i = s.find_first_not_of(" \t", i);
    if (i == std::string_view::npos) return out;
    const std::size_t end = std::min(s.find_first_of(" \t", i), s.size());
    out.push_back(s.substr(i, end - i));
    i = end;
  }
}

// A positive decimal that fits in 64 bits, or nothing.
std::optional<std::uint64_t> positive_decimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  if (n == 0) return std::nullopt;
  return n;
}

struct Expected {
  std::vector<std::string> mechanisms;
  bool flags[7] = {};
  std::optional<std::uint64_t> size;
};

constexpr const char* kFlagKeywords[7] = {"STARTTLS", "PIPELINING", "8BITMIME",           "SMTPUTF8",
                                          "DSN",      "CHUNKING",   "ENHANCEDSTATUSCODES"};

Expected reference(const std::vector<std::string>& lines) {
  Expected e;
  auto add = [&](std::string_view name) {
    const std::string mech = ascii_upper(name);
    for (const auto& m : e.mechanisms)
      if (m == mech) return;
    e.mechanisms.push_back(mech);
  };
  for (std::size_t i = 1; i < lines.size(); ++i) {
    const auto w = split_words(lines[i]);
    if (w.empty()) continue;
    const std::string keyword = ascii_upper(w[0]);
    for (int f = 0; f < 7; ++f)
      if (keyword == kFlagKeywords[f]) e.flags[f] = true;
    if (keyword == "AUTH") {
      for (std::size_t k = 1; k < w.size(); ++k) add(w[k]);
    } else if (keyword.compare(0, 5, "AUTH=") == 0) {
      if (w[0].size() > 5) add(w[0].substr(5));
      for (std::size_t k = 1; k < w.size(); ++k) add(w[k]);
    } else if (keyword == "SIZE" && w.size() > 1) {
      if (auto n = positive_decimal(w[1])) e.size = n;  // a later valid SIZE line wins
    }
  }
  return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  Reply reply;
  reply.code = 250;
  for (std::size_t pos = 0;;) {
    const std::size_t nl = input.find('\n', pos);
    reply.lines.emplace_back(input.substr(pos, nl == std::string_view::npos ? nl : nl - pos));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }

  const Capabilities caps = smtpn::smtp::parse_capabilities(reply);
  const Expected want = reference(reply.lines);

  require(caps.lines == std::vector<std::string>(reply.lines.begin() + 1, reply.lines.end()),
          "the keyword lines are kept as sent, greeting excluded");
  require(caps.auth_mechanisms == want.mechanisms,
          "AUTH mechanisms are the input's AUTH words, upper-cased, first occurrence kept");
  for (const std::string& m : caps.auth_mechanisms) {
    require(!m.empty() && m.find_first_of(" \t") == std::string::npos, "a mechanism is one word");
    require(m == ascii_upper(m), "a mechanism is upper case");
    require(input.find(m) != std::string_view::npos || ascii_upper(input).find(m) != std::string::npos,
            "a mechanism comes from the input");
    require(caps.offers_mechanism(ascii_lower(m)), "offers_mechanism ignores case");
  }
  const bool got[7] = {caps.starttls, caps.pipelining, caps.eight_bit_mime,       caps.smtputf8,
                       caps.dsn,      caps.chunking,   caps.enhanced_status_codes};
  for (int f = 0; f < 7; ++f) {
    require(got[f] == want.flags[f], "a flag is set exactly when its keyword leads a line");
    require(caps.has_keyword(kFlagKeywords[f]) == want.flags[f], "has_keyword agrees with the flags");
    require(caps.has_keyword(ascii_lower(kFlagKeywords[f])) == want.flags[f], "has_keyword ignores case");
  }
  require(caps.size_limit == want.size, "SIZE is the last valid positive 64-bit decimal");
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    const auto w = split_words(reply.lines[i]);
    if (!w.empty()) require(caps.has_keyword(ascii_lower(w[0])), "every line's keyword is found");
  }
  return 0;
}
