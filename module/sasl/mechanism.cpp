#include "sasl/mechanism.hpp"

#include <algorithm>

#include "crypto/base64.hpp"
#include "sasl/cram_md5.hpp"
#include "sasl/digest_md5.hpp"
#include "sasl/oauth.hpp"
#include "sasl/scram.hpp"

namespace smtpn::sasl {
namespace {

// PLAIN (RFC 4616): authzid empty, "\0user\0password" as the initial response.
class Plain final : public Mechanism {
 public:
  explicit Plain(const Credentials& c) : credentials_(c) {}
  std::string_view name() const override { return "PLAIN"; }
  Result<std::optional<crypto::Secret>, SaslError> initial_response() override {
    // In place (a growing string would free copies of the password unwiped).
    const std::string_view password = credentials_.password.expose();
    crypto::Secret blob;
    blob.reserve(credentials_.user.size() + password.size() + 2);
    blob.append(std::string_view("\0", 1)).append(credentials_.user).append(std::string_view("\0", 1)).append(password);
    return std::optional<crypto::Secret>{crypto::base64_encode_secret(blob.expose())};
  }
  Result<crypto::Secret, SaslError> respond(std::string_view) override {
    // The response always rides on the AUTH line: PLAIN has nothing to answer a challenge with.
    return Unexpected{
        SaslError{SaslError::Kind::kBadChallenge, "unexpected PLAIN challenge after the response"}};
  }

 private:
  const Credentials& credentials_;
};

// LOGIN (draft-murchison-sasl-login): user name, then password, each on its own 334 prompt.
class Login final : public Mechanism {
 public:
  explicit Login(const Credentials& c) : credentials_(c) {}
  std::string_view name() const override { return "LOGIN"; }
  Result<crypto::Secret, SaslError> respond(std::string_view) override {
    switch (step_++) {
      case 0: return crypto::Secret{crypto::base64_encode(credentials_.user)};
      case 1: return crypto::base64_encode_secret(credentials_.password.expose());
      default:
        return Unexpected{
            SaslError{SaslError::Kind::kBadChallenge, "LOGIN asked for more than user and password"}};
    }
  }

 private:
  const Credentials& credentials_;
  int step_ = 0;
};

class CramMd5 final : public Mechanism {
 public:
  explicit CramMd5(const Credentials& c) : credentials_(c) {}
  std::string_view name() const override { return "CRAM-MD5"; }
  Result<crypto::Secret, SaslError> respond(std::string_view challenge) override {
    if (answered_) return Unexpected{SaslError{SaslError::Kind::kBadChallenge, "CRAM-MD5 challenged twice"}};
    answered_ = true;
    return cram_md5_response(credentials_.user, credentials_.password, challenge);
  }

 private:
  const Credentials& credentials_;
  bool answered_ = false;
};

// EXTERNAL (RFC 4422 Appendix A): the TLS client certificate is the credential; the empty
// initial response asks for the identity the certificate maps to.
class External final : public Mechanism {
 public:
  std::string_view name() const override { return "EXTERNAL"; }
  Result<std::optional<crypto::Secret>, SaslError> initial_response() override {
    return std::optional<crypto::Secret>{crypto::Secret{}};
  }
  Result<crypto::Secret, SaslError> respond(std::string_view) override {
    return Unexpected{SaslError{SaslError::Kind::kBadChallenge, "unexpected EXTERNAL challenge"}};
  }
};

}  // namespace

std::unique_ptr<Mechanism> make_mechanism(std::string_view name, const Credentials& credentials,
                                          const MechanismOptions& options) {
  using crypto::Digest;
  if (name == "SCRAM-SHA-256-PLUS") return make_scram(Digest::kSha256, true, credentials, options);
  if (name == "SCRAM-SHA-1-PLUS") return make_scram(Digest::kSha1, true, credentials, options);
  if (name == "SCRAM-SHA-256") return make_scram(Digest::kSha256, false, credentials, options);
  if (name == "SCRAM-SHA-1") return make_scram(Digest::kSha1, false, credentials, options);
  if (name == "PLAIN") return std::make_unique<Plain>(credentials);
  if (name == "LOGIN") return std::make_unique<Login>(credentials);
  if (name == "CRAM-MD5") return std::make_unique<CramMd5>(credentials);
  if (name == "DIGEST-MD5") return make_digest_md5(credentials, options);
  if (name == "XOAUTH2") return make_xoauth2(credentials);
  if (name == "OAUTHBEARER") return make_oauthbearer(credentials, options);
  if (name == "EXTERNAL") return std::make_unique<External>();
  return nullptr;
}

bool exposes_secret(std::string_view name) {
  // EXTERNAL sends nothing secret (the certificate it rests on needs TLS anyway).
  return name != "EXTERNAL";
}

bool uses_token(std::string_view name) { return name == "XOAUTH2" || name == "OAUTHBEARER"; }

bool needs_channel_binding(std::string_view name) { return name.ends_with("-PLUS"); }

const std::vector<std::string>& supported_mechanisms() {
  static const std::vector<std::string> kAll = {
      "SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN", "CRAM-MD5", "LOGIN",
      "DIGEST-MD5",         "XOAUTH2",          "OAUTHBEARER",   "EXTERNAL"};
  return kAll;
}

}  // namespace smtpn::sasl
