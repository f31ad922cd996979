// The one-sender, one-recipient envelope most test sends use, built in one place instead of a
// MailOptions-filling helper in each test file. Test translation units only.
#pragma once

#include <string>
#include <utility>

#include "smtp/options.hpp"

namespace smtpn::test {

inline smtp::MailOptions mail_from_to(std::string from, std::string to) {
  smtp::MailOptions m;
  m.from = std::move(from);
  m.recipients = {std::move(to)};
  return m;
}

}  // namespace smtpn::test
