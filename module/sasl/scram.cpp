#include "sasl/scram.hpp"

#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "crypto/base64.hpp"
#include "crypto/digest.hpp"
#include "crypto/pbkdf2.hpp"
#include "crypto/random.hpp"
#include "sasl/saslprep.hpp"

namespace smtpn::sasl {
namespace {

using Kind = SaslError::Kind;

Unexpected<SaslError> failure(Kind kind, std::string message) {
  return Unexpected{SaslError{kind, std::move(message)}};
}

// "a=value" pairs of a SCRAM message, in order; nullopt when one is not of that form.
std::optional<std::vector<std::pair<char, std::string_view>>> attributes(std::string_view message) {
  std::vector<std::pair<char, std::string_view>> out;
  while (true) {
    const std::size_t comma = message.find(',');
    const std::string_view item = message.substr(0, comma);
    const bool alpha =
        item.size() >= 2 && ((item[0] >= 'a' && item[0] <= 'z') || (item[0] >= 'A' && item[0] <= 'Z'));
    if (!alpha || item[1] != '=') return std::nullopt;
    out.emplace_back(item[0], item.substr(2));
    if (comma == std::string_view::npos) return out;
    message.remove_prefix(comma + 1);
  }
}

// RFC 5802 printable: %x21-2B / %x2D-7E (no comma).
bool printable_nonce(std::string_view nonce) {
  for (char c : nonce)
    if (c < 0x21 || c > 0x7E || c == ',') return false;
  return !nonce.empty();
}

std::string xor_bytes(std::string_view a, std::string_view b) {
  std::string out(a.size(), '\0');
  for (std::size_t i = 0; i < a.size(); ++i) out[i] = static_cast<char>(a[i] ^ b[i]);
  return out;
}

class Scram final : public Mechanism {
 public:
  Scram(crypto::Digest digest, bool plus, const Credentials& credentials, const MechanismOptions& options)
      : digest_(digest), plus_(plus), credentials_(credentials), options_(options) {
    name_ = digest == crypto::Digest::kSha256 ? "SCRAM-SHA-256" : "SCRAM-SHA-1";
    if (plus) name_ += "-PLUS";
  }

  std::string_view name() const override { return name_; }

  Result<std::optional<crypto::Secret>, SaslError> initial_response() override {
    if (step_ != Step::kStart) return failure(Kind::kBadChallenge, name_ + " started twice");
    if (auto e = check_prepared(credentials_.user, "user name")) return Unexpected{*e};
    if (auto e = check_prepared(credentials_.password.expose(), "password")) return Unexpected{*e};
    // The gs2 flag tells the server what we know about binding, so a -PLUS stripped from its
    // list by a man in the middle makes the server fail us ("y": we could bind, it seemed not to).
    if (plus_) {
      if (!options_.channel_binding)
        return failure(Kind::kBadCredentials, name_ + " needs TLS channel binding, which is not available");
      gs2_header_ = "p=" + options_.channel_binding->type + ",,";
    } else {
      gs2_header_ = options_.channel_binding && !options_.server_offers_plus ? "y,," : "n,,";
    }
    client_nonce_ = options_.client_nonce.empty() ? crypto::base64_encode(crypto::random_bytes(24))
                                                  : options_.client_nonce;
    client_first_bare_ = "n=" + saslname(credentials_.user) + ",r=" + client_nonce_;
    step_ = Step::kSentFirst;
    return std::optional<crypto::Secret>{
        crypto::Secret{crypto::base64_encode(gs2_header_ + client_first_bare_)}};
  }

  Result<crypto::Secret, SaslError> respond(std::string_view challenge_base64) override {
    if (challenge_base64.size() > crypto::base64_encoded_size(kMaxScramMessage))
      return failure(Kind::kTooLarge, name_ + " server message of " +
                                          std::to_string(challenge_base64.size()) +
                                          " base64 characters exceeds the limit of " +
                                          std::to_string(crypto::base64_encoded_size(kMaxScramMessage)));
    auto decoded = crypto::base64_decode(challenge_base64);
    if (!decoded)
      return Unexpected{SaslError{Kind::kBadChallenge,
                                  name_ + " server message is not valid base64: " + decoded.error().message(),
                                  decoded.error().offset}};
    if (decoded.value().size() > kMaxScramMessage)
      return failure(Kind::kTooLarge,
                     name_ + " server message exceeds " + std::to_string(kMaxScramMessage) + " bytes");
    switch (step_) {
      case Step::kSentFirst: return client_final(decoded.value());
      case Step::kSentFinal: return verify_server_final(decoded.value());
      case Step::kStart: break;
      case Step::kDone:
        return failure(Kind::kBadChallenge, name_ + " server sent a message after its final one");
    }
    return failure(Kind::kBadChallenge, name_ + " server challenged before the client's first message");
  }

  std::optional<SaslError> finish() override {
    if (step_ == Step::kDone) return std::nullopt;
    return SaslError{
        Kind::kServerNotVerified,
        "the server accepted " + name_ +
            " without proving it knows the password (no server signature): refusing to trust it"};
  }

 private:
  enum class Step { kStart, kSentFirst, kSentFinal, kDone };

  Result<crypto::Secret, SaslError> client_final(const std::string& server_first) {
    const auto attrs = attributes(server_first);
    if (!attrs) return failure(Kind::kBadChallenge, name_ + " server-first-message is malformed");
    for (const auto& [key, value] : *attrs)
      if (key == 'e')
        return failure(Kind::kServerError,
                       name_ + ": the server reported \"" + printable_excerpt(value) + "\"");
    if (attrs->front().first == 'm')
      return failure(Kind::kBadChallenge, name_ + " server requires an extension we do not know (m=)");
    if (attrs->size() < 3 || (*attrs)[0].first != 'r' || (*attrs)[1].first != 's' || (*attrs)[2].first != 'i')
      return failure(Kind::kBadChallenge, name_ + " server-first-message lacks r=, s= or i= (in that order)");
    const std::string_view nonce = (*attrs)[0].second;
    if (nonce.size() <= client_nonce_.size() || nonce.substr(0, client_nonce_.size()) != client_nonce_ ||
        !printable_nonce(nonce))
      return failure(Kind::kBadChallenge, name_ + " server nonce does not extend ours: refusing to continue");
    auto salt = crypto::base64_decode((*attrs)[1].second);
    if (!salt || salt.value().empty())
      return failure(Kind::kBadChallenge, name_ + " server salt is empty or not valid base64");
    const std::string_view count_text = (*attrs)[2].second;
    std::uint64_t count = 0;
    const auto [end, ec] = std::from_chars(count_text.data(), count_text.data() + count_text.size(), count);
    const bool all_digits = end == count_text.data() + count_text.size();
    if (ec == std::errc::result_out_of_range && all_digits)
      count = std::uint64_t(-1);  // refused below
    else if (count_text.empty() || ec != std::errc() || !all_digits)
      return failure(Kind::kBadChallenge, name_ + " iteration count \"" + printable_excerpt(count_text, 24) +
                                              "\" is not a number");
    if (count < kScramMinIterations || count > options_.scram_max_iterations)
      return failure(Kind::kOutOfBounds, name_ + " iteration count " + printable_excerpt(count_text, 24) +
                                             " is outside the accepted range " +
                                             std::to_string(kScramMinIterations) + "–" +
                                             std::to_string(options_.scram_max_iterations) +
                                             " (the ceiling is :scram-max-iterations)");

    std::string binding_input = gs2_header_;
    if (plus_) binding_input += options_.channel_binding->data;
    std::string without_proof = "c=" + crypto::base64_encode(binding_input) + ",r=";
    without_proof.append(nonce);
    auth_message_ = client_first_bare_ + "," + server_first + "," + without_proof;

    const crypto::Secret salted = crypto::pbkdf2_hmac(digest_, credentials_.password.expose(), salt.value(),
                                                      static_cast<std::uint32_t>(count));
    crypto::Secret client_key{crypto::hmac(digest_, salted.expose(), "Client Key")};
    crypto::Secret stored_key{crypto::hash(digest_, client_key.expose())};
    crypto::Secret client_signature{crypto::hmac(digest_, stored_key.expose(), auth_message_)};
    crypto::Secret proof{xor_bytes(client_key.expose(), client_signature.expose())};
    crypto::Secret server_key{crypto::hmac(digest_, salted.expose(), "Server Key")};
    server_signature_ = crypto::Secret{crypto::hmac(digest_, server_key.expose(), auth_message_)};

    // The proof is password-equivalent to an offline attacker: its base64 and the message
    // around it are built in place, never in a string that grows and frees a copy.
    const crypto::Secret proof_base64 = crypto::base64_encode_secret(proof.expose());
    crypto::Secret final_message;
    final_message.reserve(without_proof.size() + 3 + proof_base64.size());
    final_message.append(without_proof).append(",p=").append(proof_base64);
    step_ = Step::kSentFinal;
    return crypto::base64_encode_secret(final_message.expose());
  }

  Result<crypto::Secret, SaslError> verify_server_final(const std::string& server_final) {
    const auto attrs = attributes(server_final);
    if (attrs && attrs->front().first == 'e')
      return failure(Kind::kServerError,
                     name_ + ": the server reported \"" + printable_excerpt(attrs->front().second) + "\"");
    if (!attrs || attrs->front().first != 'v')
      return failure(Kind::kServerNotVerified, name_ + " server-final-message carries no signature (v=)");
    auto signature = crypto::base64_decode(attrs->front().second);
    if (!signature || !crypto::equal_constant_time(signature.value(), server_signature_.expose()))
      return failure(Kind::kServerNotVerified,
                     name_ +
                         " server signature is wrong: the server does not know the password, or "
                         "someone is in the middle");
    step_ = Step::kDone;
    return crypto::Secret{};  // the empty response that lets the server say 235
  }

  crypto::Digest digest_;
  bool plus_;
  const Credentials& credentials_;
  const MechanismOptions& options_;
  std::string name_;
  Step step_ = Step::kStart;
  std::string gs2_header_;
  std::string client_nonce_;
  std::string client_first_bare_;
  std::string auth_message_;
  crypto::Secret server_signature_;
};

}  // namespace

std::unique_ptr<Mechanism> make_scram(crypto::Digest digest, bool plus, const Credentials& credentials,
                                      const MechanismOptions& options) {
  return std::make_unique<Scram>(digest, plus, credentials, options);
}

}  // namespace smtpn::sasl
