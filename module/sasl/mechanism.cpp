#include "sasl/mechanism.hpp"

#include <algorithm>

#include "crypto/base64.hpp"
#include "sasl/cram_md5.hpp"

namespace smtpn::sasl {
namespace {

// PLAIN (RFC 4616): authzid empty, "\0user\0password" as the initial response.
class Plain final : public Mechanism {
 public:
  explicit Plain(const Credentials& c) : credentials_(c) {}
  std::string_view name() const override { return "PLAIN"; }
  std::optional<crypto::Secret> initial_response() override {
    std::string blob;
    blob.push_back('\0');
    blob += credentials_.user;
    blob.push_back('\0');
    blob += credentials_.password.expose();
    crypto::Secret encoded{crypto::base64_encode(blob)};
    crypto::wipe(blob);
    return encoded;
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
      case 1: return crypto::Secret{crypto::base64_encode(credentials_.password.expose())};
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

}  // namespace

std::unique_ptr<Mechanism> make_mechanism(std::string_view name, const Credentials& credentials) {
  if (name == "PLAIN") return std::make_unique<Plain>(credentials);
  if (name == "LOGIN") return std::make_unique<Login>(credentials);
  if (name == "CRAM-MD5") return std::make_unique<CramMd5>(credentials);
  return nullptr;
}

bool reveals_secret(std::string_view name) { return name != "CRAM-MD5"; }

const std::vector<std::string>& supported_mechanisms() {
  static const std::vector<std::string> kAll = {"CRAM-MD5", "PLAIN", "LOGIN"};
  return kAll;
}

}  // namespace smtpn::sasl
