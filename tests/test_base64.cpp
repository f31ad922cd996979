#include "catch.hpp"
#include "crypto/base64.hpp"
using namespace smtpn::crypto;
TEST_CASE("base64 RFC 4648 section 10 vectors") {
  CHECK(base64_encode("foobar") == "Zm9vYmFy");
  CHECK(base64_decode("Zm9vYmFy").value() == "foobar");
}
