// What an EHLO reply advertises (RFC 5321 §4.1.1.1 and the extensions we use).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "smtp/reply.hpp"

namespace smtpn::smtp {

struct Capabilities {
  std::vector<std::string> lines;            // the keyword lines as sent (greeting line excluded)
  std::vector<std::string> auth_mechanisms;  // upper case, from "AUTH x y" and legacy "AUTH=x y"
  bool starttls = false;
  bool pipelining = false;
  bool eight_bit_mime = false;
  bool smtputf8 = false;
  bool dsn = false;
  bool chunking = false;
  bool enhanced_status_codes = false;
  std::optional<std::uint64_t> size_limit;  // SIZE n with n > 0

  bool has_keyword(std::string_view keyword) const;
  bool offers_mechanism(std::string_view mechanism) const;
};

// From a 250 EHLO reply (the first line is the server's greeting and is skipped).
Capabilities parse_capabilities(const Reply& ehlo_reply);

}  // namespace smtpn::smtp
