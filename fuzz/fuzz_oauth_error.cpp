// libFuzzer target for sasl::oauth_error_status, the reader of an OAuth error document's
// "status" member (RFC 7628 §3.2.2): any bytes give a printable excerpt of at most 100
// characters or nothing, and agree with a reference reading written independently here.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "sasl/oauth.hpp"
#include "property.hpp"

namespace {

using smtpn::fuzz::require;

// The raw value of the first "status" key followed by optional white space, ':', optional
// white space and a complete string (a backslash takes the next byte literally); false when
// there is none.
bool reference_status(std::string_view json, std::string& value) {
  const std::size_t key = json.find("\"status\"");
  if (key == std::string_view::npos) return false;
  std::size_t i = key + 8;
  const auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (i < json.size() && ws(json[i])) ++i;
  if (i == json.size() || json[i] != ':') return false;
  ++i;
  while (i < json.size() && ws(json[i])) ++i;
  if (i == json.size() || json[i] != '"') return false;
  value.clear();
  bool escaped = false;
  for (++i; i < json.size(); ++i) {
    const char c = json[i];
    if (escaped) {
      value.push_back(c);
      escaped = false;
    } else if (c == '\\') {
      escaped = true;
    } else if (c == '"') {
      return true;
    } else {
      value.push_back(c);
    }
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  const std::string status = smtpn::sasl::oauth_error_status(json);
  for (unsigned char c : status) require(c >= 0x20 && c < 0x7F, "a non-printable byte in the excerpt");
  std::string raw;
  const bool found = reference_status(json, raw);
  if (!found) {
    require(status.empty(), "a status where the reference finds none");
    return 0;
  }
  // The first 100 bytes, each non-printable one as '?', and "..." when there was more.
  std::string expected;
  for (std::size_t i = 0; i < raw.size() && i < 100; ++i) {
    const unsigned char c = static_cast<unsigned char>(raw[i]);
    expected.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '?');
  }
  if (raw.size() > 100) expected += "...";
  require(status == expected, "the status differs from the reference reading");
  return 0;
}
