// No secret is left in freed heap memory: while each mechanism computes its responses, every
// block released through operator delete is scanned (alloc_meter.cpp) for the password or
// token, and for what is derived from them (DIGEST-MD5's H(user:realm:password) and HA1,
// SCRAM's salted password, client key and proof), raw, hex and base64. A string that grows
// past its capacity frees its old block unwiped; crypto::Secret built in place does not.
#include <memory>
#include <string>
#include <vector>

#include "alloc_meter.hpp"
#include "catch.hpp"
#include "crypto/base64.hpp"
#include "crypto/digest.hpp"
#include "crypto/hex.hpp"
#include "crypto/hmac.hpp"
#include "crypto/pbkdf2.hpp"
#include "sasl/mechanism.hpp"

using namespace smtpn;

namespace {

// Long enough that no copy fits a std::string's inline buffer: every copy is on the heap.
constexpr const char* kUser = "alice.with.a.rather.long.user.name@example.org";
constexpr const char* kSecret = "correct-horse-battery-staple-0123456789-long-passphrase";

std::vector<std::string> forms(std::string_view bytes) {
  return {std::string(bytes), crypto::hex_encode(bytes), crypto::base64_encode(bytes)};
}

void add(std::vector<std::string>& needles, std::vector<std::string> more) {
  needles.insert(needles.end(), more.begin(), more.end());
}

// Runs the mechanism NAME over the server's CHALLENGES (base64) with the scan armed; returns
// the index of the first needle found in a freed block, or -1.
int scan_exchange(const std::string& name, const std::vector<std::string>& challenges,
                  const sasl::MechanismOptions& options, const std::vector<std::string>& needles) {
  smtpn::hostile::arm_free_scan(&needles);
  {
    const sasl::Credentials credentials{kUser, crypto::Secret(kSecret)};
    auto mechanism = sasl::make_mechanism(name, credentials, options);
    auto first = mechanism->initial_response();
    for (const auto& challenge : challenges) {
      auto response = mechanism->respond(challenge);
      if (!response) break;
    }
  }
  return smtpn::hostile::disarm_free_scan();
}

// The decoded SCRAM client-final message of a run without the scan, for its proof.
std::string scram_client_final(const std::string& server_first_b64, const sasl::MechanismOptions& options) {
  const sasl::Credentials credentials{kUser, crypto::Secret(kSecret)};
  auto mechanism = sasl::make_mechanism("SCRAM-SHA-256", credentials, options);
  (void)mechanism->initial_response();
  auto response = mechanism->respond(server_first_b64);
  REQUIRE(response);
  return crypto::base64_decode(response.value().expose()).value();
}

}  // namespace

TEST_CASE("no freed block holds the password or anything derived from it", "[hostile][secrets][free-scan]") {
  std::vector<std::string> needles = forms(kSecret);
  sasl::MechanismOptions options;
  options.host = "mx.example.org";
  options.port = "587";
  std::string name;
  std::vector<std::string> challenges;

  SECTION("PLAIN") { name = "PLAIN"; }
  SECTION("LOGIN") {
    name = "LOGIN";
    challenges = {crypto::base64_encode("Username:"), crypto::base64_encode("Password:")};
  }
  SECTION("CRAM-MD5") {
    name = "CRAM-MD5";
    challenges = {crypto::base64_encode("<1896.697170952@postoffice.example.net>")};
  }
  SECTION("XOAUTH2") { name = "XOAUTH2"; }
  SECTION("OAUTHBEARER") { name = "OAUTHBEARER"; }
  SECTION("DIGEST-MD5") {
    name = "DIGEST-MD5";
    options.client_nonce = "OA9BSuZWMSpW8m";
    const std::string realm = "example.org", nonce = "OA6MG9tEQGm2hh";
    challenges = {crypto::base64_encode("realm=\"" + realm + "\",nonce=\"" + nonce +
                                        "\",qop=\"auth\",algorithm=md5-sess,charset=utf-8")};
    const std::string h = crypto::hash(crypto::Digest::kMd5, std::string(kUser) + ":" + realm + ":" + kSecret);
    const std::string a1_digest = crypto::hash(crypto::Digest::kMd5, h + ":" + nonce + ":" + options.client_nonce);
    add(needles, forms(h));          // H(user:realm:password)
    add(needles, forms(a1_digest));  // H(A1); its hex is HA1
  }
  SECTION("SCRAM-SHA-256") {
    name = "SCRAM-SHA-256";
    options.client_nonce = "rOprNGfwEbeRWgbNEkqO";
    const std::string salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
    const std::string server_first = "r=" + options.client_nonce + "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=" + salt + ",i=4096";
    challenges = {crypto::base64_encode(server_first)};
    const crypto::Secret salted =
        crypto::pbkdf2_hmac(crypto::Digest::kSha256, kSecret, crypto::base64_decode(salt).value(), 4096);
    const std::string client_key = crypto::hmac(crypto::Digest::kSha256, salted.expose(), "Client Key");
    add(needles, forms(salted.expose()));
    add(needles, forms(client_key));
    const std::string final_message = scram_client_final(challenges[0], options);
    const std::string proof_b64 = final_message.substr(final_message.find(",p=") + 3);
    needles.push_back(proof_b64);
    add(needles, forms(crypto::base64_decode(proof_b64).value()));
  }
  CAPTURE(name);
  const int hit = scan_exchange(name, challenges, options, needles);
  INFO("needle found in a freed block: " << (hit >= 0 ? crypto::hex_encode(needles[hit]) : "none"));
  CHECK(hit == -1);
}
