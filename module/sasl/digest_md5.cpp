#include "sasl/digest_md5.hpp"

#include <map>
#include <utility>

#include "crypto/base64.hpp"
#include "crypto/digest.hpp"
#include "crypto/hex.hpp"
#include "crypto/random.hpp"
#include "sasl/saslprep.hpp"

namespace smtpn::sasl {
namespace {

using Kind = SaslError::Kind;
constexpr std::size_t kMaxDirectives = 32;

Unexpected<SaslError> failure(Kind kind, std::string message) {
  return Unexpected{SaslError{kind, "DIGEST-MD5 " + std::move(message)}};
}

bool lws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2831 §7.1 directives: name=token or name="quoted\"string", comma separated; nullopt when
// malformed. Names may repeat here: the caller refuses repeats RFC 2831 forbids.
std::optional<std::multimap<std::string, std::string>> directives(std::string_view text) {
  std::multimap<std::string, std::string> out;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && (lws(text[i]) || text[i] == ',')) ++i;
    if (i >= text.size()) return out;
    if (out.size() >= kMaxDirectives) return std::nullopt;
    const std::size_t name_start = i;
    while (i < text.size() && text[i] != '=' && text[i] != ',' && !lws(text[i])) ++i;
    std::string name(text.substr(name_start, i - name_start));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    while (i < text.size() && lws(text[i])) ++i;
    if (name.empty() || i >= text.size() || text[i] != '=') return std::nullopt;
    ++i;
    while (i < text.size() && lws(text[i])) ++i;
    std::string value;
    if (i < text.size() && text[i] == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;
        value += text[i];
      }
      if (i >= text.size()) return std::nullopt;  // unterminated
      ++i;
    } else {
      const std::size_t start = i;
      while (i < text.size() && text[i] != ',' && !lws(text[i])) ++i;
      value = std::string(text.substr(start, i - start));
    }
    out.emplace(std::move(name), std::move(value));
    while (i < text.size() && lws(text[i])) ++i;
    if (i < text.size() && text[i] != ',') return std::nullopt;
  }
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

// Whether a qop-options list ("auth,auth-int") names plain "auth".
bool lists_auth(std::string_view qops) {
  while (!qops.empty()) {
    const std::size_t comma = qops.find(',');
    std::string_view item = qops.substr(0, comma);
    while (!item.empty() && lws(item.front())) item.remove_prefix(1);
    while (!item.empty() && lws(item.back())) item.remove_suffix(1);
    if (item == "auth") return true;
    if (comma == std::string_view::npos) break;
    qops.remove_prefix(comma + 1);
  }
  return false;
}

std::string md5(std::string_view s) { return crypto::hash(crypto::Digest::kMd5, s); }
std::string md5_hex(std::string_view s) { return crypto::hex_encode(md5(s)); }

class DigestMd5 final : public Mechanism {
 public:
  DigestMd5(const Credentials& credentials, const MechanismOptions& options, std::string service)
      : credentials_(credentials), options_(options), service_(std::move(service)) {}

  std::string_view name() const override { return "DIGEST-MD5"; }

  Result<crypto::Secret, SaslError> respond(std::string_view challenge_base64) override {
    if (challenge_base64.size() > crypto::base64_encoded_size(kMaxDigestChallenge))
      return failure(Kind::kTooLarge, "challenge exceeds " + std::to_string(kMaxDigestChallenge) + " bytes");
    auto decoded = crypto::base64_decode(challenge_base64);
    if (!decoded)
      return Unexpected{
          SaslError{Kind::kBadChallenge, "DIGEST-MD5 challenge is not valid base64", decoded.error().offset}};
    if (decoded.value().size() > kMaxDigestChallenge)
      return failure(Kind::kTooLarge, "challenge exceeds " + std::to_string(kMaxDigestChallenge) + " bytes");
    switch (step_++) {
      case 0: return answer(decoded.value());
      case 1: return check_rspauth(decoded.value());
      default: return failure(Kind::kBadChallenge, "server challenged after rspauth");
    }
  }

  std::optional<SaslError> finish() override {
    if (verified_) return std::nullopt;
    return SaslError{Kind::kServerNotVerified,
                     "the server accepted DIGEST-MD5 without proving it knows the password (no rspauth): "
                     "refusing to trust it"};
  }

 private:
  Result<crypto::Secret, SaslError> answer(std::string_view challenge) {
    if (auto e = check_prepared(credentials_.user, "user name")) return Unexpected{*e};
    if (auto e = check_prepared(credentials_.password.expose(), "password")) return Unexpected{*e};
    const auto d = directives(challenge);
    if (!d) return failure(Kind::kBadChallenge, "challenge is malformed");
    auto one = [&](const char* key) -> std::optional<std::string> {
      const auto it = d->lower_bound(key);  // the first realm of several
      if (it == d->end() || it->first != key) return std::nullopt;
      return it->second;
    };
    const auto nonce = one("nonce");
    if (!nonce || nonce->empty() || d->count("nonce") != 1)
      return failure(Kind::kBadChallenge, "challenge needs exactly one nonce");
    // RFC 2831 §2.1.1: the client aborts when one of these appears more than once.
    for (const char* key : {"algorithm", "qop", "charset", "maxbuf", "stale"})
      if (d->count(key) > 1) return failure(Kind::kBadChallenge, std::string("challenge repeats ") + key);
    if (one("algorithm") != std::optional<std::string>("md5-sess"))
      return failure(Kind::kBadChallenge, "challenge must say algorithm=md5-sess");
    if (const auto qop = one("qop"); qop && !lists_auth(*qop))
      return failure(Kind::kBadChallenge, "server does not offer qop=auth");
    const bool utf8 = one("charset") == std::optional<std::string>("utf-8");
    const std::string realm = one("realm").value_or("");
    const std::string cnonce = options_.client_nonce.empty() ? crypto::base64_encode(crypto::random_bytes(18))
                                                             : options_.client_nonce;
    const std::string uri = service_ + "/" + options_.host;
    const std::string nc = "00000001";

    // H(user:realm:password) and everything built on it is password-equivalent: built in
    // place inside Secrets (reserved first, so nothing reallocates and leaves a copy behind).
    const std::string_view password = credentials_.password.expose();
    crypto::Secret held;
    held.reserve(credentials_.user.size() + realm.size() + password.size() + 2);
    held.append(credentials_.user).append(":").append(realm).append(":").append(password);
    const crypto::Secret h = crypto::hash_secret(crypto::Digest::kMd5, held.expose());
    crypto::Secret a1;
    a1.reserve(h.size() + nonce->size() + cnonce.size() + 2);
    a1.append(h).append(":").append(*nonce).append(":").append(cnonce);
    const crypto::Secret ha1 = crypto::hex_encode_secret(crypto::hash_secret(crypto::Digest::kMd5, a1.expose()).expose());
    const std::string tail = ":" + *nonce + ":" + nc + ":" + cnonce + ":auth:";
    auto kd = [&](const std::string& a2) {
      const std::string a2_hex = md5_hex(a2);
      crypto::Secret input;
      input.reserve(ha1.size() + tail.size() + a2_hex.size());
      input.append(ha1).append(tail).append(a2_hex);
      return md5_hex(input.expose());
    };
    const std::string response = kd("AUTHENTICATE:" + uri);
    expected_rspauth_ = crypto::Secret{kd(":" + uri)};

    std::string out = utf8 ? "charset=utf-8," : "";
    out += "username=" + quoted(credentials_.user) + ",realm=" + quoted(realm) + ",nonce=" + quoted(*nonce) +
           ",nc=" + nc + ",cnonce=" + quoted(cnonce) + ",digest-uri=" + quoted(uri) +
           ",response=" + response + ",qop=auth";
    return crypto::base64_encode_secret(out);
  }

  Result<crypto::Secret, SaslError> check_rspauth(std::string_view text) {
    const auto d = directives(text);
    const bool matches = d && d->count("rspauth") == 1 &&
                         crypto::equal_constant_time(d->find("rspauth")->second, expected_rspauth_.expose());
    if (!matches)
      return failure(Kind::kServerNotVerified,
                     "server's rspauth is missing or wrong: the server does not know the password, or "
                     "someone is in the middle");
    verified_ = true;
    return crypto::Secret{};
  }

  const Credentials& credentials_;
  const MechanismOptions& options_;
  std::string service_;
  int step_ = 0;
  crypto::Secret expected_rspauth_;
  bool verified_ = false;
};

}  // namespace

std::unique_ptr<Mechanism> make_digest_md5(const Credentials& credentials, const MechanismOptions& options,
                                           std::string service) {
  return std::make_unique<DigestMd5>(credentials, options, std::move(service));
}

}  // namespace smtpn::sasl
