// Session options for a test's or bench's own server on 127.0.0.1, built in one place instead
// of the same host/port/stream/timeout lines in each file. Test and bench translation units only.
#pragma once

#include <string>
#include <utility>

#include "smtp/options.hpp"

namespace smtpn::test {

inline smtp::SessionOptions loopback_session(std::string port, smtp::StreamType stream_type,
                                             double timeout_seconds) {
  smtp::SessionOptions o;
  o.host = "127.0.0.1";
  o.port = std::move(port);
  o.stream_type = stream_type;
  o.timeout_seconds = timeout_seconds;
  return o;
}

}  // namespace smtpn::test
