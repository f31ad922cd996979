// The names every scripted-session test file uses, in one place instead of a using-block
// repeated at the top of each test_session_*.cpp. Test translation units only.
#pragma once

#include <string>
#include <vector>

#include "scripted_transport.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"

using smtpn::smtp::SendResult;
using smtpn::smtp::SmtpError;
using smtpn::smtp::StreamType;
using smtpn::test::as_is;
using smtpn::test::Exchange;
using smtpn::test::kMessage;
using smtpn::test::ScriptedTransport;
using Kind = smtpn::smtp::SmtpError::Kind;
using Lines = std::vector<std::string>;
