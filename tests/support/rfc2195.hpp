// RFC 2195's CRAM-MD5 example, which the SASL unit test and the scripted sessions both use.
// Test translation units only.
#pragma once

#include <string_view>

namespace smtpn::test {

inline constexpr std::string_view kRfc2195User = "tim";
inline constexpr std::string_view kRfc2195Password = "tanstaaftanstaaf";
// base64 of "<1896.697170952@postoffice.reston.mci.net>".
inline constexpr const char* kRfc2195Challenge = "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+";
// base64 of "tim b913a602c7eda7a495b4e6e7334d3890".
inline constexpr std::string_view kRfc2195Response = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw";

}  // namespace smtpn::test
