// The server side of SCRAM for tests: checks a client's gs2 header, channel binding and proof
// with RFC 5802's formulas (on the crypto layer's primitives, which have their own
// known-answer tests) and answers with v= or e=, as a conforming server would.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "crypto/base64.hpp"
#include "crypto/digest.hpp"
#include "crypto/hmac.hpp"
#include "crypto/pbkdf2.hpp"

namespace smtpn::test {

struct ScramServer {
  crypto::Digest digest = crypto::Digest::kSha256;
  std::string user = "user";
  std::string password = "pencil";
  std::string salt = "NaCl-salt-16byte";  // raw
  std::uint32_t iterations = 4096;
  std::string nonce_suffix = "3rfcNHYJY1ZVvWVs7j";
  bool offers_plus = false;  // a "y" flag is then a downgrade: refuse it
  std::string binding_type;  // what a "p=" client must name ("" = no binding here)
  std::string binding_data;  // this side's binding data of the connection

  std::string error;  // why the last step refused, as e= would say it
  bool authenticated = false;

  // The server-first-message for CLIENT_FIRST (decoded), or nullopt (see error).
  std::optional<std::string> first(std::string_view client_first) {
    const std::size_t c1 = client_first.find(',');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : client_first.find(',', c1 + 1);
    if (c2 == std::string_view::npos) return refuse("other-error");
    gs2_ = std::string(client_first.substr(0, c2 + 1));
    const std::string_view flag = client_first.substr(0, c1);
    if (flag == "y" && offers_plus) return refuse("server-does-support-channel-binding");
    if (flag.starts_with("p=")) {
      if (binding_type.empty()) return refuse("server-does-not-support-channel-binding");
      if (flag.substr(2) != binding_type) return refuse("unsupported-channel-binding-type");
      plus_ = true;
    } else if (flag != "n" && flag != "y") {
      return refuse("other-error");
    }
    bare_ = std::string(client_first.substr(c2 + 1));
    if (!bare_.starts_with("n=" + user + ",r=")) return refuse("unknown-user");
    nonce_ = bare_.substr(bare_.find(",r=") + 3) + nonce_suffix;
    server_first_ = "r=" + nonce_ + ",s=" + crypto::base64_encode(salt) + ",i=" + std::to_string(iterations);
    return server_first_;
  }

  // The server-final-message for CLIENT_FINAL (decoded): "v=..." or "e=...".
  std::string final(std::string_view client_final) {
    const std::size_t p = client_final.rfind(",p=");
    if (p == std::string_view::npos) return "e=" + refuse_text("invalid-encoding");
    const std::string without_proof(client_final.substr(0, p));
    const std::string expected_c =
        "c=" + crypto::base64_encode(gs2_ + (plus_ ? binding_data : "")) + ",r=" + nonce_;
    if (without_proof != expected_c) return "e=" + refuse_text("channel-bindings-dont-match");
    auto proof = crypto::base64_decode(client_final.substr(p + 3));
    const std::string auth_message = bare_ + "," + server_first_ + "," + without_proof;
    const crypto::Secret salted = crypto::pbkdf2_hmac(digest, password, salt, iterations);
    const std::string stored_key = crypto::hash(digest, crypto::hmac(digest, salted.expose(), "Client Key"));
    const std::string signature = crypto::hmac(digest, stored_key, auth_message);
    if (!proof || proof.value().size() != signature.size()) return "e=" + refuse_text("invalid-proof");
    std::string client_key(signature.size(), '\0');
    for (std::size_t i = 0; i < signature.size(); ++i)
      client_key[i] = static_cast<char>(proof.value()[i] ^ signature[i]);
    if (crypto::hash(digest, client_key) != stored_key) return "e=" + refuse_text("invalid-proof");
    authenticated = true;
    const std::string server_key = crypto::hmac(digest, salted.expose(), "Server Key");
    return "v=" + crypto::base64_encode(crypto::hmac(digest, server_key, auth_message));
  }

 private:
  std::optional<std::string> refuse(std::string why) {
    error = std::move(why);
    return std::nullopt;
  }
  std::string refuse_text(std::string why) {
    error = std::move(why);
    return error;
  }

  std::string gs2_, bare_, nonce_, server_first_;
  bool plus_ = false;
};

}  // namespace smtpn::test
