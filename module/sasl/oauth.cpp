#include "sasl/oauth.hpp"

#include "crypto/base64.hpp"
#include "sasl/saslprep.hpp"

namespace smtpn::sasl {
namespace {

using Kind = SaslError::Kind;

// Both mechanisms: the token goes out once; a challenge after it can only be the error
// document, answered with RESPONSE so the server sends its final (failure) reply.
class Bearer final : public Mechanism {
 public:
  Bearer(std::string name, const Credentials& credentials, const MechanismOptions* options)
      : name_(std::move(name)), credentials_(credentials), options_(options) {}

  std::string_view name() const override { return name_; }

  Result<std::optional<crypto::Secret>, SaslError> initial_response() override {
    if (auto e = check_prepared(credentials_.user, "user name")) return Unexpected{*e};
    const std::string_view token = credentials_.password.expose();
    if (token.empty()) return Unexpected{SaslError{Kind::kBadCredentials, "the OAuth token is empty"}};
    for (char c : token)
      if (c < 0x20 || c > 0x7E)
        return Unexpected{
            SaslError{Kind::kBadCredentials, "the OAuth token contains a non-printable character"}};
    std::string head;  // everything before the token
    if (options_) {
      // RFC 7628 §3.1: gs2 header without channel binding, then kvpairs separated by ^A.
      head = "n,a=" + saslname(credentials_.user) + ",\x01";
      if (!options_->host.empty()) head += "host=" + options_->host + "\x01";
      if (!options_->port.empty()) head += "port=" + options_->port + "\x01";
      head += "auth=Bearer ";
    } else {
      head = "user=" + credentials_.user + "\x01" + "auth=Bearer ";
    }
    // The token is appended in place: reserved first, a growing string would have freed a
    // copy of it unwiped.
    crypto::Secret blob;
    blob.reserve(head.size() + token.size() + 2);
    blob.append(head).append(token).append("\x01\x01");
    return std::optional<crypto::Secret>{crypto::base64_encode_secret(blob.expose())};
  }

  Result<crypto::Secret, SaslError> respond(std::string_view challenge_base64) override {
    if (answered_error_)
      return Unexpected{SaslError{Kind::kBadChallenge, name_ + " server challenged again after its error"}};
    if (challenge_base64.size() > crypto::base64_encoded_size(kMaxOAuthError))
      return Unexpected{SaslError{
          Kind::kTooLarge, name_ + " error document exceeds " + std::to_string(kMaxOAuthError) + " bytes"}};
    auto json = crypto::base64_decode(challenge_base64);
    if (!json)
      return Unexpected{
          SaslError{Kind::kBadChallenge, name_ + " error document is not valid base64", json.error().offset}};
    if (json.value().size() > kMaxOAuthError)
      return Unexpected{SaslError{
          Kind::kTooLarge, name_ + " error document exceeds " + std::to_string(kMaxOAuthError) + " bytes"}};
    answered_error_ = true;
    status_ = oauth_error_status(json.value());
    if (status_.empty()) status_ = "(no status)";
    // XOAUTH2 wants an empty line, OAUTHBEARER a single ^A (RFC 7628 §3.2.3).
    return crypto::Secret{options_ ? crypto::base64_encode("\x01") : std::string()};
  }

  std::string failure_detail() const override {
    return status_.empty() ? std::string() : "the token was refused, OAuth status " + status_;
  }

 private:
  std::string name_;
  const Credentials& credentials_;
  const MechanismOptions* options_;  // OAUTHBEARER only
  bool answered_error_ = false;
  std::string status_;
};

}  // namespace

std::string oauth_error_status(std::string_view json) {
  const std::size_t key = json.find("\"status\"");
  if (key == std::string_view::npos) return {};
  std::size_t i = key + 8;
  auto skip_space = [&] {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\r' || json[i] == '\n')) ++i;
  };
  skip_space();
  if (i >= json.size() || json[i] != ':') return {};
  ++i;
  skip_space();
  if (i >= json.size() || json[i] != '"') return {};
  std::string value;
  for (++i; i < json.size() && json[i] != '"'; ++i) {
    if (json[i] == '\\' && i + 1 < json.size()) ++i;
    value += json[i];
  }
  if (i >= json.size()) return {};  // unterminated string
  return printable_excerpt(value, 100);
}

std::unique_ptr<Mechanism> make_xoauth2(const Credentials& credentials) {
  return std::make_unique<Bearer>("XOAUTH2", credentials, nullptr);
}

std::unique_ptr<Mechanism> make_oauthbearer(const Credentials& credentials, const MechanismOptions& options) {
  return std::make_unique<Bearer>("OAUTHBEARER", credentials, &options);
}

}  // namespace smtpn::sasl
