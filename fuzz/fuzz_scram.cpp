// libFuzzer target for the SCRAM client (sasl/scram): fixed credentials and client nonce, the
// input is the server-first message, then after a NUL the server-final message ("v=*" stands
// for the right signature, so the fuzzer reaches the accepting path). The first byte picks
// SCRAM-SHA-1 or -SHA-256, plain, "y" or -PLUS. A server-first is answered exactly when it is
// r=<our nonce + more>,s=<base64 salt>,i=<count in [4096, ceiling]>, and the answer carries the
// proof a reference computation (OpenSSL's PBKDF2 and HMAC, here) gives; a count above the
// ceiling is refused without hashing; a server-final is accepted exactly when its v= is the
// reference ServerSignature.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/base64.hpp"
#include "crypto/secret.hpp"
#include "sasl/mechanism.hpp"
#include "sasl/scram.hpp"
#include "property.hpp"

namespace {

using smtpn::crypto::base64_decode;
using smtpn::crypto::base64_encode;
using smtpn::sasl::SaslError;

constexpr std::string_view kUser = "user";
constexpr std::string_view kPassword = "pencil";
constexpr std::string_view kClientNonce = "fyko+d2lbbFgONRv9qkxdawL";
constexpr std::uint32_t kCeiling = smtpn::sasl::kScramMinIterations + 64;  // keeps PBKDF2 cheap
const std::string kBindingData("\x01\x02\xff binding", 11);

using smtpn::fuzz::require;

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  require(HMAC(md, key.data(), static_cast<int>(key.size()),
               reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &n) != nullptr,
          "reference HMAC");
  return std::string(reinterpret_cast<char*>(out), n);
}

std::string hash(const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  require(EVP_Digest(data.data(), data.size(), out, &n, md, nullptr) == 1, "reference digest");
  return std::string(reinterpret_cast<char*>(out), n);
}

struct Items {
  std::vector<std::pair<char, std::string_view>> list;
  bool well_formed = true;
};

// RFC 5802 §7: attr-val *("," attr-val), attr-val = ALPHA "=" value.
Items items(std::string_view m) {
  Items out;
  for (std::size_t pos = 0;;) {
    const std::size_t comma = std::min(m.find(',', pos), m.size());
    const std::string_view item = m.substr(pos, comma - pos);
    const bool alpha =
        item.size() >= 2 && ((item[0] >= 'a' && item[0] <= 'z') || (item[0] >= 'A' && item[0] <= 'Z'));
    if (!alpha || item[1] != '=')
      out.well_formed = false;
    else
      out.list.emplace_back(item[0], item.substr(2));
    if (comma == m.size()) return out;
    pos = comma + 1;
  }
}

std::optional<std::uint64_t> decimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  while (s.size() > 1 && s[0] == '0') s.remove_prefix(1);
  if (s.size() > 19) return std::nullopt;
  std::uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int mode = data[0] % 4;  // 0 SHA-1 "n", 1 SHA-256 "n", 2 SHA-256-PLUS, 3 SHA-1 "y"
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t nul = rest.find('\0');
  const std::string_view server_first = rest.substr(0, nul);
  const std::optional<std::string_view> server_final =
      nul == std::string_view::npos ? std::nullopt : std::optional(rest.substr(nul + 1));

  const bool sha256 = mode == 1 || mode == 2;
  const bool plus = mode == 2;
  const EVP_MD* md = sha256 ? EVP_sha256() : EVP_sha1();
  smtpn::sasl::Credentials credentials{std::string(kUser), smtpn::crypto::Secret(kPassword)};
  smtpn::sasl::MechanismOptions options;
  options.client_nonce = std::string(kClientNonce);
  options.scram_max_iterations = kCeiling;
  if (mode >= 2) options.channel_binding = smtpn::sasl::ChannelBinding{"tls-exporter", kBindingData};
  const std::string name = std::string(sha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1") + (plus ? "-PLUS" : "");
  const auto mech = smtpn::sasl::make_mechanism(name, credentials, options);
  require(mech != nullptr, "the mechanism exists");

  const auto first = mech->initial_response();
  require(first.ok() && first.value().has_value(), "the client starts");
  const std::string gs2 = plus ? "p=tls-exporter,," : mode == 3 ? "y,," : "n,,";
  const std::string client_first_bare = "n=user,r=" + std::string(kClientNonce);
  require(base64_decode(first.value()->expose()).value() == gs2 + client_first_bare, "client-first is fixed");

  // --- server-first ---
  const Items attrs = items(server_first);
  bool has_error = false;
  for (const auto& [key, value] : attrs.list) has_error = has_error || key == 'e';
  const auto& l = attrs.list;
  const bool shape = attrs.well_formed && !has_error && l.size() >= 3 && l[0].first == 'r' &&
                     l[1].first == 's' && l[2].first == 'i';
  const std::string_view nonce = shape ? l[0].second : std::string_view();
  const bool nonce_ok = shape && nonce.size() > kClientNonce.size() &&
                        nonce.substr(0, kClientNonce.size()) == kClientNonce && printable(nonce);
  const auto salt = shape ? std::optional(base64_decode(l[1].second)) : std::nullopt;
  const bool salt_ok = salt && salt->ok() && !salt->value().empty();
  const std::string_view count_text = shape ? l[2].second : std::string_view();
  const bool count_digits =
      !count_text.empty() && count_text.find_first_not_of("0123456789") == std::string_view::npos;
  const auto count = decimal(count_text);
  const bool count_ok = count && *count >= smtpn::sasl::kScramMinIterations && *count <= kCeiling;
  const bool acceptable = shape && nonce_ok && salt_ok && count_ok;

  const auto started = std::chrono::steady_clock::now();
  const auto answer = mech->respond(base64_encode(server_first));
  const auto took = std::chrono::steady_clock::now() - started;

  if (server_first.size() > smtpn::sasl::kMaxScramMessage) {
    require(!answer.ok() && answer.error().kind == SaslError::Kind::kTooLarge,
            "an oversize server-first is refused");
    return 0;
  }
  require(answer.ok() == acceptable, "server-first is answered exactly when it is well-formed and in bounds");
  if (shape && nonce_ok && salt_ok && count_digits && !count_ok) {
    require(answer.error().kind == SaslError::Kind::kOutOfBounds, "a count out of range is refused as such");
  }
  // PBKDF2 at the ceiling takes milliseconds; a count of billions would take hours.
  if (!answer.ok()) require(took < std::chrono::seconds(1), "a refusal comes without running PBKDF2");
  require(mech->finish().has_value(), "an unfinished exchange is never trusted");
  if (!answer.ok()) {
    require(!answer.error().message.empty(), "a refusal says why");
    return 0;
  }

  // The reference client-final and ServerSignature (RFC 5802 §3).
  std::string salted(static_cast<std::size_t>(EVP_MD_get_size(md)), '\0');
  require(PKCS5_PBKDF2_HMAC(kPassword.data(), static_cast<int>(kPassword.size()),
                            reinterpret_cast<const unsigned char*>(salt->value().data()),
                            static_cast<int>(salt->value().size()), static_cast<int>(*count), md,
                            static_cast<int>(salted.size()),
                            reinterpret_cast<unsigned char*>(salted.data())) == 1,
          "reference PBKDF2");
  const std::string without_proof =
      "c=" + base64_encode(gs2 + (plus ? kBindingData : std::string())) + ",r=" + std::string(nonce);
  const std::string auth_message = client_first_bare + "," + std::string(server_first) + "," + without_proof;
  const std::string client_key = hmac(md, salted, "Client Key");
  const std::string client_signature = hmac(md, hash(md, client_key), auth_message);
  std::string proof = client_key;
  for (std::size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_signature[i]);
  const std::string server_signature = hmac(md, hmac(md, salted, "Server Key"), auth_message);

  const auto client_final = base64_decode(answer.value().expose());
  require(client_final.ok(), "client-final is base64");
  require(client_final.value() == without_proof + ",p=" + base64_encode(proof),
          "client-final carries our nonce-extended r= and the reference proof");

  if (!server_final) return 0;

  // --- server-final ---
  std::string final_text(*server_final);
  if (final_text.rfind("v=*", 0) == 0) final_text.replace(2, 1, base64_encode(server_signature));
  const Items fin = items(final_text);
  std::optional<std::string> v;
  if (fin.well_formed && !fin.list.empty() && fin.list[0].first == 'v') {
    const auto decoded = base64_decode(fin.list[0].second);
    if (decoded.ok()) v = decoded.value();
  }
  const bool verified = v == server_signature;

  const auto last = mech->respond(base64_encode(final_text));
  if (final_text.size() > smtpn::sasl::kMaxScramMessage) {
    require(!last.ok(), "an oversize server-final is refused");
    return 0;
  }
  require(last.ok() == verified, "server-final is accepted exactly when v= is the reference ServerSignature");
  if (verified) {
    require(last.value().empty(), "the answer to a verified server-final is empty");
    require(!mech->finish().has_value(), "a verified exchange is trusted");
    require(!mech->respond(base64_encode("v=")).ok(), "nothing is accepted after the server-final");
  } else {
    require(mech->finish().has_value(), "an unverified exchange is never trusted");
  }
  return 0;
}
