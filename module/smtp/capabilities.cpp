#include "smtp/capabilities.hpp"

#include <algorithm>
#include <charconv>

namespace smtpn::smtp {
namespace {

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

// The keywords whose presence is all that is noted, and the flag each one sets.
struct FlagKeyword {
  std::string_view keyword;
  bool Capabilities::*flag;
};

constexpr FlagKeyword kFlagKeywords[] = {
    {"STARTTLS", &Capabilities::starttls},
    {"PIPELINING", &Capabilities::pipelining},
    {"8BITMIME", &Capabilities::eight_bit_mime},
    {"SMTPUTF8", &Capabilities::smtputf8},
    {"DSN", &Capabilities::dsn},
    {"CHUNKING", &Capabilities::chunking},
    {"ENHANCEDSTATUSCODES", &Capabilities::enhanced_status_codes},
};

// KEYWORD's flag (KEYWORD in upper case), or nullptr when it is not a flag keyword.
bool Capabilities::*flag_of(std::string_view keyword) {
  for (const auto& [name, flag] : kFlagKeywords)
    if (name == keyword) return flag;
  return nullptr;
}

void add_mechanisms(Capabilities& caps, const std::vector<std::string_view>& names) {
  for (auto name : names) {
    std::string mech = upper(name);
    if (!caps.offers_mechanism(mech)) caps.auth_mechanisms.push_back(std::move(mech));
  }
}

}  // namespace

bool Capabilities::has_keyword(std::string_view keyword) const {
  const std::string want = upper(keyword);
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
    const auto w = words(line);
    return !w.empty() && upper(w.front()) == want;
  });
}

bool Capabilities::offers_mechanism(std::string_view mechanism) const {
  const std::string want = upper(mechanism);
  return std::find(auth_mechanisms.begin(), auth_mechanisms.end(), want) != auth_mechanisms.end();
}

Capabilities parse_capabilities(const Reply& ehlo_reply) {
  Capabilities caps;
  for (std::size_t i = 1; i < ehlo_reply.lines.size(); ++i) {
    const std::string& line = ehlo_reply.lines[i];
    caps.lines.push_back(line);
    auto w = words(line);
    if (w.empty()) continue;
    const std::string keyword = upper(w.front());
    w.erase(w.begin());
    if (keyword == "AUTH") {
      add_mechanisms(caps, w);
    } else if (keyword.rfind("AUTH=", 0) == 0) {  // pre-RFC 2554 servers: "AUTH=LOGIN PLAIN"
      std::vector<std::string_view> names{std::string_view(line).substr(line.find('=') + 1)};
      names = words(names.front());
      add_mechanisms(caps, names);
    } else if (bool Capabilities::*flag = flag_of(keyword)) {
      caps.*flag = true;
    } else if (keyword == "SIZE" && !w.empty()) {
      std::uint64_t n = 0;
      const auto [end, ec] = std::from_chars(w.front().data(), w.front().data() + w.front().size(), n);
      if (ec == std::errc() && end == w.front().data() + w.front().size() && n > 0) caps.size_limit = n;
    }
  }
  return caps;
}

}  // namespace smtpn::smtp
