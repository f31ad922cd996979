// The names every scripted-session test file uses, in one place instead of a using-block
// repeated at the top of each test_session_*.cpp. Test translation units only.
#pragma once

#include <string>
#include <vector>

#include "scripted_transport.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"
#include "smtp/session.hpp"

using smtpn::smtp::BatchItem;
using smtpn::smtp::CallbackAbort;
using smtpn::smtp::Delivery;
using smtpn::smtp::kDataChunk;
using smtpn::smtp::Phase;
using smtpn::smtp::SendResult;
using smtpn::smtp::SmtpError;
using smtpn::smtp::StreamType;
using smtpn::test::as_is;
using smtpn::test::Exchange;
using smtpn::test::hang_up;
using smtpn::test::kMessage;
using smtpn::test::ScriptedTransport;
using smtpn::test::silence;
using Kind = smtpn::smtp::SmtpError::Kind;
using Lines = std::vector<std::string>;
