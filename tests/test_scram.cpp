// SCRAM-SHA-1 and SCRAM-SHA-256: the RFC 5802 §5 and RFC 7677 §3 exchanges byte-exact (also
// the vectors of Emacs's test/lisp/net/sasl-scram-rfc-tests.el, which are RFC 5802's), the
// gs2 flags and channel binding, and everything a hostile server may send: iteration counts
// out of bounds or not numbers, nonces that do not extend ours, wrong or missing signatures,
// errors, oversize and malformed messages.
#include <cstdint>
#include <string>
#include <string_view>

#include "catch.hpp"
#include "support/base64_text.hpp"
#include "crypto/base64.hpp"
#include "crypto/hex.hpp"
#include "crypto/pbkdf2.hpp"
#include "crypto/secret.hpp"
#include "sasl/mechanism.hpp"
#include "sasl/scram.hpp"
#include "sasl_error_maker.hpp"
#include "scram_server.hpp"

using namespace smtpn;
using test::b64;
using test::unb64;
using sasl::SaslError;
using Kind = SaslError::Kind;

namespace {


// One client exchange with fixed credentials and options; steps return decoded text.
struct Client {
  sasl::Credentials credentials{"user", crypto::Secret("pencil")};
  sasl::MechanismOptions options;
  std::unique_ptr<sasl::Mechanism> mech;

  explicit Client(std::string_view name, std::string nonce = "fyko+d2lbbFgONRv9qkxdawL") {
    options.client_nonce = std::move(nonce);
    mech = sasl::make_mechanism(name, credentials, options);
    REQUIRE(mech);
  }
  std::string first() {
    auto r = mech->initial_response();
    REQUIRE(r.ok());
    REQUIRE(r.value().has_value());
    return unb64(r.value()->expose());
  }
  Result<crypto::Secret, SaslError> step(std::string_view server_message) {
    return mech->respond(b64(server_message));
  }
  std::string step_ok(std::string_view server_message) {
    auto r = step(server_message);
    INFO((r.ok() ? std::string() : r.error().message));
    REQUIRE(r.ok());
    return unb64(r.value().expose());
  }
  Kind step_fails(std::string_view server_message) {
    auto r = step(server_message);
    REQUIRE_FALSE(r.ok());
    return r.error().kind;
  }
};

constexpr std::string_view kRfc5802ServerFirst =
    "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096";

std::string server_first_with_count(std::string_view count) {
  return "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=" + std::string(count);
}

}  // namespace

TEST_CASE("RFC 5802 §5: SCRAM-SHA-1 byte-exact", "[sasl][scram][kat]") {
  Client c("SCRAM-SHA-1");
  CHECK(c.mech->name() == "SCRAM-SHA-1");
  CHECK(c.first() == "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
  CHECK(c.step_ok(kRfc5802ServerFirst) ==
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
  CHECK(c.mech->finish().has_value());  // not yet verified
  CHECK(c.step_ok("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").empty());
  CHECK_FALSE(c.mech->finish().has_value());
  // Nothing may follow the server's final message.
  CHECK(c.step_fails("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=") == Kind::kBadChallenge);
}

TEST_CASE("RFC 7677 §3: SCRAM-SHA-256 byte-exact", "[sasl][scram][kat]") {
  Client c("SCRAM-SHA-256", "rOprNGfwEbeRWgbNEkqO");
  CHECK(c.first() == "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
  CHECK(c.step_ok("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096") ==
        "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
        "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  CHECK(c.step_ok("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=").empty());
  CHECK_FALSE(c.mech->finish().has_value());
}

TEST_CASE("PBKDF2-HMAC-SHA1 known answers (RFC 6070)", "[crypto][pbkdf2][kat]") {
  CHECK(crypto::hex_encode(crypto::pbkdf2_hmac(crypto::Digest::kSha1, "password", "salt", 1).expose()) ==
        "0c60c80f961f0e71f3a9b524af6012062fe037a6");
  CHECK(crypto::hex_encode(crypto::pbkdf2_hmac(crypto::Digest::kSha1, "password", "salt", 4096).expose()) ==
        "4b007901b765489abead49d926f721d065a429c1");
}

TEST_CASE("a fresh random nonce per exchange when none is fixed", "[sasl][scram]") {
  sasl::Credentials cred{"user", crypto::Secret("pencil")};
  sasl::MechanismOptions opts;
  auto a = sasl::make_mechanism("SCRAM-SHA-256", cred, opts);
  auto b = sasl::make_mechanism("SCRAM-SHA-256", cred, opts);
  const std::string fa = unb64(a->initial_response().value()->expose());
  const std::string fb = unb64(b->initial_response().value()->expose());
  CHECK(fa.starts_with("n,,n=user,r="));
  CHECK(fa.size() == std::string_view("n,,n=user,r=").size() + 32);  // 24 random bytes, base64
  CHECK(fa != fb);
  CHECK(fa.find(',', 12) == std::string::npos);
}

TEST_CASE("the server's signature is required: wrong, missing, or an error instead",
          "[sasl][scram][hostile]") {
  auto after_first = [] {
    auto c = std::make_unique<Client>("SCRAM-SHA-1");
    c->first();
    c->step_ok(kRfc5802ServerFirst);
    return c;
  };
  SECTION("wrong v=") {
    auto c = after_first();
    CHECK(c->step_fails("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=") == Kind::kServerNotVerified);
    CHECK(c->mech->finish()->kind == Kind::kServerNotVerified);
  }
  SECTION("v= of the right length but one bit off") {
    auto c = after_first();
    CHECK(c->step_fails("v=rmF9pqV8S7suAoZWja4dJRkFsKR=") != Kind::kBadCredentials);
    CHECK(c->mech->finish().has_value());
  }
  SECTION("no v= at all") {
    auto c = after_first();
    CHECK(c->step_fails("") == Kind::kServerNotVerified);
    CHECK(c->mech->finish()->kind == Kind::kServerNotVerified);  // and nothing recovers that
  }
  SECTION("v= not base64") {
    auto c = after_first();
    CHECK(c->step_fails("v=@@@@") == Kind::kServerNotVerified);
  }
  SECTION("e= is the server's error, reported printable") {
    auto c = after_first();
    auto r = c->step("e=invalid-proof\x01");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::kServerError);
    CHECK(r.error().message.find("invalid-proof?") != std::string::npos);
  }
  SECTION("235 straight after the client's final message: finish() refuses") {
    auto c = after_first();
    const auto distrust = c->mech->finish();
    REQUIRE(distrust);
    CHECK(distrust->kind == Kind::kServerNotVerified);
  }
}

TEST_CASE("iteration counts outside [4096, ceiling] or not numbers are refused before hashing",
          "[sasl][scram][hostile]") {
  for (const char* count : {"0", "1", "4095", "600001", "4294967295", "4294967296", "18446744073709551616"}) {
    INFO(count);
    Client c("SCRAM-SHA-256");
    c.first();
    CHECK(c.step_fails(server_first_with_count(count)) == Kind::kOutOfBounds);
  }
  for (const char* count : {"", "abc", "4096x", "+4096", "-4096", " 4096", "4096 ", "0x1000", "4e3"}) {
    INFO(count);
    Client c("SCRAM-SHA-256");
    c.first();
    CHECK(c.step_fails(server_first_with_count(count)) == Kind::kBadChallenge);
  }
  SECTION("missing i=") {
    Client c("SCRAM-SHA-256");
    c.first();
    CHECK(c.step_fails("r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92") == Kind::kBadChallenge);
  }
  SECTION("the ceiling is configurable, both ways") {
    sasl::Credentials cred{"user", crypto::Secret("pencil")};
    sasl::MechanismOptions opts;
    opts.client_nonce = "fyko+d2lbbFgONRv9qkxdawL";
    opts.scram_max_iterations = 5000;
    auto m = sasl::make_mechanism("SCRAM-SHA-1", cred, opts);
    REQUIRE(m->initial_response().ok());
    auto r = m->respond(b64(server_first_with_count("5001")));
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::kOutOfBounds);
    CHECK(r.error().message.find("5001") != std::string::npos);
    CHECK(r.error().message.find(":scram-max-iterations") != std::string::npos);
    auto m2 = sasl::make_mechanism("SCRAM-SHA-1", cred, opts);
    REQUIRE(m2->initial_response().ok());
    CHECK(m2->respond(b64(server_first_with_count("4096"))).ok());
  }
  SECTION("exactly the default ceiling is accepted") {
    Client c("SCRAM-SHA-256");
    c.first();
    CHECK(c.step(server_first_with_count(std::to_string(sasl::kDefaultScramMaxIterations))).ok());
  }
}

TEST_CASE("the server nonce must extend ours", "[sasl][scram][hostile]") {
  for (const char* first : {
           "r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",      // ours, not extended
           "r=XXXX+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096",  // not ours
           "r=fyko+d2lbbFgONRv9qkxdaw,s=QSXCR+Q6sek8bf92,i=4096",       // shorter
           "r=3rfcfyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096",  // ours in the middle
           "r=fyko+d2lbbFgONRv9qkxdawL\x7f,s=QSXCR+Q6sek8bf92,i=4096",  // extension not printable
       }) {
    INFO(first);
    Client c("SCRAM-SHA-1");
    c.first();
    CHECK(c.step_fails(first) == Kind::kBadChallenge);
  }
}

TEST_CASE("malformed, oversize and out-of-order server messages", "[sasl][scram][hostile]") {
  SECTION("attributes out of order, unknown mandatory extension, bad salt, server error") {
    for (const char* first :
         {"s=QSXCR+Q6sek8bf92,r=fyko+d2lbbFgONRv9qkxdawL3rfc,i=4096",
          "m=ext,r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=QSXCR+Q6sek8bf92,i=4096",
          "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=,i=4096", "r=fyko+d2lbbFgONRv9qkxdawL3rfc,s=!!!!,i=4096",
          "r=fyko+d2lbbFgONRv9qkxdawL3rfc,,s=QSXCR+Q6sek8bf92,i=4096", "", "garbage"}) {
      INFO(first);
      Client c("SCRAM-SHA-1");
      c.first();
      CHECK(c.step_fails(first) == Kind::kBadChallenge);
    }
    Client c("SCRAM-SHA-1");
    c.first();
    CHECK(c.step_fails("e=other-error") == Kind::kServerError);
  }
  SECTION("extensions after i= are ignored") {
    Client c("SCRAM-SHA-1");
    c.first();
    CHECK(c.step_ok(std::string(kRfc5802ServerFirst) + ",x=future")
              .starts_with("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p="));
  }
  SECTION("a message beyond the bound is refused undecoded") {
    Client c("SCRAM-SHA-1");
    c.first();
    const std::string huge =
        std::string(kRfc5802ServerFirst) + ",x=" + std::string(sasl::kMaxScramMessage, 'a');
    CHECK(c.step_fails(huge) == Kind::kTooLarge);
    Client e("SCRAM-SHA-1");
    e.first();
    std::string one_over = std::string(kRfc5802ServerFirst) + ",x=";
    one_over.append(sasl::kMaxScramMessage + 1 - one_over.size(), 'a');  // same base64 length as the bound
    CHECK(e.step_fails(one_over) == Kind::kTooLarge);
    // Right at the bound it is parsed (and fine).
    Client d("SCRAM-SHA-1");
    d.first();
    std::string at_bound = std::string(kRfc5802ServerFirst) + ",x=";
    at_bound.append(sasl::kMaxScramMessage - at_bound.size(), 'a');
    CHECK(d.step(at_bound).ok());
  }
  SECTION("not base64") {
    Client c("SCRAM-SHA-1");
    c.first();
    CHECK_FALSE(c.mech->respond("cj1m eWtv").ok());
  }
  SECTION("a challenge before our first message") {
    Client c("SCRAM-SHA-1");
    CHECK(c.step_fails(kRfc5802ServerFirst) == Kind::kBadChallenge);
  }
}

TEST_CASE("user names are saslname-escaped; SASLprep's prohibitions are enforced",
          "[sasl][scram][saslprep]") {
  SECTION("= and , escaped") {
    Client c("SCRAM-SHA-256");
    c.credentials.user = "a=b,c";
    CHECK(c.first() == "n,,n=a=3Db=2Cc,r=fyko+d2lbbFgONRv9qkxdawL");
  }
  SECTION("non-ASCII UTF-8 passes (smtp::Session prepared it)") {
    Client c("SCRAM-SHA-256");
    c.credentials.user = "j\xc3\xbcrgen";
    c.credentials.password = crypto::Secret("p\xc3\xa4ss");
    CHECK(c.first() == "n,,n=j\xc3\xbcrgen,r=fyko+d2lbbFgONRv9qkxdawL");
  }
  for (const std::string_view bad :
       {std::string_view("us\ter"),
        std::string_view("us\x7f"
                         "er"),
        std::string_view("us\xc2\x85"
                         "er"),
        std::string_view("\xff"), std::string_view("\xc0\xaf"), std::string_view("\xed\xa0\x80"),
        std::string_view("ab\xe2\x82"), std::string_view("nul\0x", 5), std::string_view("")}) {
    INFO("user bytes: " << bad.size());
    Client u("SCRAM-SHA-1");
    u.credentials.user = std::string(bad);
    auto r = u.mech->initial_response();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == Kind::kBadCredentials);
    Client p("SCRAM-SHA-1");
    p.credentials.password = crypto::Secret(bad);
    auto rp = p.mech->initial_response();
    REQUIRE_FALSE(rp.ok());
    CHECK(rp.error().kind == Kind::kBadCredentials);
    CHECK(rp.error().message.find("password") != std::string::npos);
  }
}

TEST_CASE("gs2 flag and channel binding", "[sasl][scram][plus]") {
  const std::string binding_data("\x01\x02\x03\xff binding", 12);
  auto run = [&](std::string_view name, bool with_binding, bool server_plus) {
    sasl::Credentials cred{"user", crypto::Secret("pencil")};
    sasl::MechanismOptions opts;
    if (with_binding) opts.channel_binding = sasl::ChannelBinding{"tls-exporter", binding_data};
    opts.server_offers_plus = server_plus;
    auto m = sasl::make_mechanism(name, cred, opts);
    auto r = m->initial_response();
    return r.ok() ? unb64(r.value()->expose()) : "error: " + r.error().message;
  };
  // No TLS: we cannot bind. TLS but the server shows no -PLUS: "y" (a stripped list is then
  // detectable by a server that does support it). The server offers -PLUS and we run plain
  // SCRAM anyway (the user's list): "n".
  CHECK(run("SCRAM-SHA-256", false, false).starts_with("n,,n=user,r="));
  CHECK(run("SCRAM-SHA-256", true, false).starts_with("y,,n=user,r="));
  CHECK(run("SCRAM-SHA-256", true, true).starts_with("n,,n=user,r="));
  CHECK(run("SCRAM-SHA-256-PLUS", true, true).starts_with("p=tls-exporter,,n=user,r="));
  CHECK(
      run("SCRAM-SHA-1-PLUS", false, true).starts_with("error: SCRAM-SHA-1-PLUS needs TLS channel binding"));

  SECTION("c= carries the gs2 header and the binding data, and a conforming server accepts it") {
    for (const auto digest : {crypto::Digest::kSha1, crypto::Digest::kSha256}) {
      const bool sha256 = digest == crypto::Digest::kSha256;
      test::ScramServer server;
      server.digest = digest;
      server.binding_type = "tls-exporter";
      server.binding_data = binding_data;
      sasl::Credentials cred{"user", crypto::Secret("pencil")};
      sasl::MechanismOptions opts;
      opts.channel_binding = sasl::ChannelBinding{"tls-exporter", binding_data};
      opts.server_offers_plus = true;
      auto m = sasl::make_mechanism(sha256 ? "SCRAM-SHA-256-PLUS" : "SCRAM-SHA-1-PLUS", cred, opts);
      const auto first = server.first(unb64(m->initial_response().value()->expose()));
      REQUIRE(first);
      auto final_message = m->respond(b64(*first));
      REQUIRE(final_message.ok());
      const std::string client_final = unb64(final_message.value().expose());
      CHECK(client_final.starts_with("c=" + b64("p=tls-exporter,," + binding_data) + ",r="));
      const std::string server_final = server.final(client_final);
      CHECK(server.authenticated);
      CHECK(m->respond(b64(server_final)).ok());
      CHECK_FALSE(m->finish().has_value());
    }
  }
  SECTION("a server whose binding data differs (a man in the middle) refuses the proof") {
    test::ScramServer server;
    server.binding_type = "tls-exporter";
    server.binding_data = "the other connection's data";
    sasl::Credentials cred{"user", crypto::Secret("pencil")};
    sasl::MechanismOptions opts;
    opts.channel_binding = sasl::ChannelBinding{"tls-exporter", binding_data};
    auto m = sasl::make_mechanism("SCRAM-SHA-256-PLUS", cred, opts);
    const auto first = server.first(unb64(m->initial_response().value()->expose()));
    REQUIRE(first);
    CHECK(server.final(unb64(m->respond(b64(*first)).value().expose())) == "e=channel-bindings-dont-match");
    CHECK_FALSE(server.authenticated);
  }
  SECTION("a server that supports binding refuses the y flag (stripped -PLUS)") {
    test::ScramServer server;
    server.offers_plus = true;
    CHECK_FALSE(server.first(run("SCRAM-SHA-256", true, false)));
    CHECK(server.error == "server-does-support-channel-binding");
  }
}

TEST_CASE("a wrong password fails at the server, not at us; the right one passes", "[sasl][scram]") {
  for (const char* password : {"pencil", "pencils"}) {
    test::ScramServer server;
    sasl::Credentials cred{"user", crypto::Secret(password)};
    sasl::MechanismOptions opts;
    auto m = sasl::make_mechanism("SCRAM-SHA-256", cred, opts);
    const auto first = server.first(unb64(m->initial_response().value()->expose()));
    REQUIRE(first);
    const std::string reply = server.final(unb64(m->respond(b64(*first)).value().expose()));
    CHECK(server.authenticated == (std::string_view(password) == "pencil"));
    CHECK(reply.starts_with(server.authenticated ? "v=" : "e=invalid-proof"));
  }
}
