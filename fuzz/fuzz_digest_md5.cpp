// libFuzzer target for the DIGEST-MD5 client (sasl/digest_md5): fixed credentials, host and
// cnonce (RFC 2831 §4's), the input is the server's challenge, then after a NUL its rspauth
// message ("rspauth=*" stands for the right value, so the fuzzer reaches the accepting path).
// Challenges are bounded; a challenge that RFC 2831 §7.1's grammar reads is answered exactly
// when it has one non-empty nonce, one algorithm=md5-sess and at most one qop (offering
// "auth"), charset, maxbuf and stale (and at most 32 directives); every answer is well-formed, with realm,
// nonce, cnonce, digest-uri quoted so they read back as they were, qop=auth, and the response a reference
// computation gives; rspauth is accepted only when it is the reference value.
#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/base64.hpp"
#include "crypto/hex.hpp"
#include "crypto/secret.hpp"
#include "sasl/digest_md5.hpp"
#include "sasl/mechanism.hpp"
#include "property.hpp"

namespace {

using smtpn::crypto::base64_decode;
using smtpn::crypto::base64_encode;
using smtpn::sasl::SaslError;
using Directives = std::multimap<std::string, std::string>;

constexpr std::string_view kUser = "chris";
constexpr std::string_view kPassword = "secret";
constexpr std::string_view kHost = "elwood.innosoft.com";
constexpr std::string_view kCnonce = "OA6MHXh6VqTrRk";

using smtpn::fuzz::require;

bool lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2616 §2.2 token characters.
bool token_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 32 && u < 127 && std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

// RFC 2831 §7.1: #( token "=" ( token | quoted-string ) ), names case-insensitive; nullopt when
// the text does not follow it. Names are lower-cased.
std::optional<Directives> parse(std::string_view t) {
  Directives out;
  std::size_t i = 0;
  for (;;) {
    while (i < t.size() && (lws(t[i]) || t[i] == ',')) ++i;
    if (i == t.size()) return out;
    const std::size_t name_start = i;
    while (i < t.size() && token_char(t[i])) ++i;
    if (i == name_start) return std::nullopt;
    std::string name(t.substr(name_start, i - name_start));
    for (char& c : name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    while (i < t.size() && lws(t[i])) ++i;
    if (i == t.size() || t[i] != '=') return std::nullopt;
    ++i;
    while (i < t.size() && lws(t[i])) ++i;
    std::string value;
    if (i < t.size() && t[i] == '"') {
      for (++i;; ++i) {
        if (i == t.size()) return std::nullopt;
        if (t[i] == '"') break;
        if (t[i] == '\\') {
          if (++i == t.size()) return std::nullopt;
        }
        value += t[i];
      }
      ++i;
    } else {
      const std::size_t start = i;
      while (i < t.size() && token_char(t[i])) ++i;
      if (i == start) return std::nullopt;
      value = std::string(t.substr(start, i - start));
    }
    out.emplace(std::move(name), std::move(value));
    while (i < t.size() && lws(t[i])) ++i;
    if (i < t.size() && t[i] != ',') return std::nullopt;
  }
}

std::optional<std::string> first(const Directives& d, const std::string& key) {
  const auto it = d.lower_bound(key);
  if (it == d.end() || it->first != key) return std::nullopt;
  return it->second;
}

bool lists_auth(std::string_view qops) {
  for (std::size_t pos = 0;;) {
    const std::size_t comma = std::min(qops.find(',', pos), qops.size());
    std::string_view item = qops.substr(pos, comma - pos);
    while (!item.empty() && lws(item.front())) item.remove_prefix(1);
    while (!item.empty() && lws(item.back())) item.remove_suffix(1);
    if (item == "auth") return true;
    if (comma == qops.size()) return false;
    pos = comma + 1;
  }
}

std::string md5(std::string_view s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  require(EVP_Digest(s.data(), s.size(), out, &n, EVP_md5(), nullptr) == 1, "reference MD5");
  return std::string(reinterpret_cast<char*>(out), n);
}
std::string md5_hex(std::string_view s) { return smtpn::crypto::hex_encode(md5(s)); }

// RFC 2831 §2.1.2.1 response-value (and, with A2 = ":" uri, rspauth) for qop=auth.
std::string kd(std::string_view realm, std::string_view nonce, std::string_view cnonce,
               const std::string& a2) {
  const std::string a1 = md5(std::string(kUser) + ":" + std::string(realm) + ":" + std::string(kPassword)) +
                         ":" + std::string(nonce) + ":" + std::string(cnonce);
  return md5_hex(md5_hex(a1) + ":" + std::string(nonce) + ":00000001:" + std::string(cnonce) +
                 ":auth:" + md5_hex(a2));
}

// Checks the quoting of DIRECTIVE in our RESPONSE text: it must be a quoted-string.
bool quoted_in(std::string_view response, std::string_view directive) {
  const std::string key = std::string(directive) + "=\"";
  return response.rfind(key, 0) == 0 || response.find("," + key) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view challenge = input.substr(0, nul);
  const std::optional<std::string_view> final_message =
      nul == std::string_view::npos ? std::nullopt : std::optional(input.substr(nul + 1));

  smtpn::sasl::Credentials credentials{std::string(kUser), smtpn::crypto::Secret(kPassword)};
  smtpn::sasl::MechanismOptions options;
  options.host = std::string(kHost);
  options.client_nonce = std::string(kCnonce);
  const auto mech = smtpn::sasl::make_digest_md5(credentials, options, "imap");

  const auto answer = mech->respond(base64_encode(challenge));
  require(mech->finish().has_value(), "an exchange without rspauth is never trusted");
  if (challenge.size() > smtpn::sasl::kMaxDigestChallenge) {
    require(!answer.ok() && answer.error().kind == SaslError::Kind::kTooLarge,
            "an oversize challenge is refused");
    return 0;
  }

  const auto d = parse(challenge);
  if (d) {
    const auto nonce = first(*d, "nonce");
    const auto qop = first(*d, "qop");
    // The parser's bound: at most 32 directives.
    const bool acceptable = d->size() <= 32 && d->count("nonce") == 1 && !nonce->empty() &&
                            d->count("algorithm") == 1 && first(*d, "algorithm") == "md5-sess" &&
                            d->count("qop") <= 1 && (!qop || lists_auth(*qop)) && d->count("charset") <= 1 &&
                            d->count("maxbuf") <= 1 && d->count("stale") <= 1;
    require(answer.ok() == acceptable, "a grammatical challenge is answered exactly when RFC 2831 allows it");
  }
  if (!answer.ok()) {
    require(!answer.error().message.empty(), "a refusal says why");
    return 0;
  }

  const auto decoded = base64_decode(answer.value().expose());
  require(decoded.ok(), "the answer is base64");
  const std::string& text = decoded.value();
  const auto r = parse(text);
  require(r.has_value(), "the answer follows RFC 2831's grammar");
  for (const char* key : {"username", "realm", "nonce", "nc", "cnonce", "digest-uri", "response", "qop"})
    require(r->count(key) == 1, "the answer has each directive once");
  for (const char* key : {"username", "realm", "nonce", "cnonce", "digest-uri"})
    require(quoted_in(text, key), "string directives are quoted");
  require(first(*r, "username") == kUser && first(*r, "cnonce") == kCnonce && first(*r, "nc") == "00000001" &&
              first(*r, "qop") == "auth" && first(*r, "digest-uri") == "imap/" + std::string(kHost),
          "username, cnonce, nc, qop=auth and digest-uri are ours");
  const std::string realm = *first(*r, "realm");
  const std::string nonce = *first(*r, "nonce");
  require(!nonce.empty() && challenge.find(nonce.substr(0, 1)) != std::string_view::npos,
          "the nonce comes from the challenge");
  if (d) {
    require(nonce == *first(*d, "nonce"), "the answer carries the challenge's nonce, read back intact");
    require(realm == first(*d, "realm").value_or(""),
            "the answer carries the challenge's first realm (or none)");
    require((r->count("charset") == 1) == (first(*d, "charset") == "utf-8"), "charset=utf-8 is echoed");
  }
  require(first(*r, "response") == kd(realm, nonce, kCnonce, "AUTHENTICATE:imap/" + std::string(kHost)),
          "the response is the reference KD");

  if (!final_message) return 0;
  const std::string rspauth = kd(realm, nonce, kCnonce, ":imap/" + std::string(kHost));
  std::string final_text(*final_message);
  if (final_text.rfind("rspauth=*", 0) == 0) final_text.replace(8, 1, rspauth);
  const auto last = mech->respond(base64_encode(final_text));
  if (const auto f = parse(final_text); f && final_text.size() <= smtpn::sasl::kMaxDigestChallenge)
    require(last.ok() == (f->count("rspauth") == 1 && first(*f, "rspauth") == rspauth),
            "a grammatical rspauth message is accepted exactly when it carries the reference rspauth");
  if (last.ok()) {
    require(final_text.find(rspauth) != std::string::npos, "rspauth is accepted only when it is right");
    require(last.value().empty(), "the answer to rspauth is empty");
    require(!mech->finish().has_value(), "a verified exchange is trusted");
  } else {
    require(mech->finish().has_value(), "an unverified exchange is never trusted");
  }
  return 0;
}
