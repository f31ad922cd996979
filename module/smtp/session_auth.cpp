// Session, authentication's part: when secrets may cross without TLS, the policy's choice
// of mechanism, asking for the password or token once, and each SASL exchange.
#include "smtp/session.hpp"

#include <algorithm>

#include "crypto/secret.hpp"
#include "sasl/mechanism.hpp"
#include "sasl/policy.hpp"
#include "sasl/saslprep.hpp"
#include "smtp/error.hpp"

namespace smtpn::smtp {
namespace {

using Kind = SmtpError::Kind;

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

}  // namespace

bool Session::clear_secrets_allowed() const {
  switch (options_.plaintext_auth) {
    case PlaintextAuth::kAlways: return true;
    case PlaintextAuth::kNever: return false;
    case PlaintextAuth::kLoopback: return transport_.peer_is_loopback();
  }
  return false;
}

const crypto::Secret& Session::secret_for(const std::string& mechanism) {
  static const crypto::Secret kNone;
  if (mechanism == "EXTERNAL") return kNone;  // the client certificate is the credential
  if (sasl::uses_token(mechanism) && options_.oauth_token) {
    if (!token_) token_ = options_.oauth_token();
    return *token_;
  }
  if (!password_) {
    if (!options_.password) throw SmtpError(Kind::kAuth, "a user name was given but no password");
    // Asked for only now that a mechanism needs it, and once; SASLprep'd here, so a direct
    // caller gets the same preparation as the Lisp layer.
    auto prepared = sasl::saslprep(options_.password().expose(), "password");
    if (!prepared) throw SmtpError(Kind::kAuth, prepared.error().message + "; nothing was sent");
    password_ = std::move(prepared).value();
  }
  return *password_;
}

const std::string& Session::prepared_user() {
  if (!user_) {
    auto prepared = sasl::saslprep(options_.user, "user name");
    if (!prepared) throw SmtpError(Kind::kAuth, prepared.error().message + "; nothing was sent");
    user_ = std::string(prepared.value().expose());
  }
  return *user_;
}

sasl::PolicyInput Session::policy_input() const {
  return {caps_.auth_mechanisms,
          options_.mechanisms,
          transport_.is_tls(),
          clear_secrets_allowed(),
          transport_.channel_binding().has_value(),
          static_cast<bool>(options_.oauth_token),
          !options_.tls.client_cert_file.empty()};
}

bool Session::run_mechanism(const std::string& name) {
  // EXTERNAL's identity is the certificate's; the name is not sent, so not prepared either.
  const sasl::Credentials credentials{name == "EXTERNAL" ? options_.user : prepared_user(), secret_for(name)};
  sasl::MechanismOptions mech_options;
  if (auto binding = transport_.channel_binding())
    mech_options.channel_binding = sasl::ChannelBinding{binding->type, binding->data};
  mech_options.scram_max_iterations = options_.scram_max_iterations;
  mech_options.host = options_.tls.server_name.empty() ? options_.host : options_.tls.server_name;
  mech_options.port = options_.port;
  mech_options.server_offers_plus =
      std::any_of(caps_.auth_mechanisms.begin(), caps_.auth_mechanisms.end(),
                  [](const std::string& m) { return sasl::needs_channel_binding(m); });
  auto mechanism = sasl::make_mechanism(name, credentials, mech_options);

  auto initial = mechanism->initial_response();
  if (!initial) throw SmtpError(Kind::kAuth, "cannot start " + name + ": " + initial.error().message);
  // RFC 4954 §4: an initial response that would push the command past 512 octets waits for
  // the server's empty 334 instead of riding on the AUTH line.
  std::optional<crypto::Secret> deferred;
  Reply reply;
  if (auto& first = initial.value(); first && 5 + name.size() + 1 + first->size() + 2 <= 512) {
    std::string line = "AUTH " + name + " ";
    if (first->empty())
      line += '=';  // an empty initial response (RFC 4954 §4)
    else
      line.append(first->expose());
    try {
      reply = command(line, timeouts_.command, "AUTH " + name + " <redacted>");
    } catch (...) {
      crypto::wipe(line);
      throw;
    }
    crypto::wipe(line);
  } else {
    deferred = std::move(first);
    reply = command("AUTH " + name, timeouts_.command);
  }
  for (int round = 0; reply.code == 334; ++round) {
    if (round >= kMaxSaslRounds) {
      send_line("*");
      throw SmtpError(Kind::kProtocol, "the server kept challenging beyond " +
                                           std::to_string(kMaxSaslRounds) + " AUTH rounds; aborted");
    }
    const std::string challenge = reply.lines.empty() ? std::string() : reply.lines.front();
    if (deferred) {
      if (!challenge.empty()) {
        send_line("*");
        throw SmtpError(Kind::kAuth, "the server sent a " + name + " challenge where it owed an empty 334");
      }
      reply = command(deferred->expose(), timeouts_.command, "<redacted>");
      deferred.reset();
      continue;
    }
    auto response = mechanism->respond(challenge);
    if (!response) {
      send_line("*");  // cancel the exchange (RFC 4954 §4)
      read_cancel_reply();
      throw SmtpError(Kind::kAuth,
                      "cannot answer the server's " + name + " challenge: " + response.error().message);
    }
    reply = command(response.value().expose(), timeouts_.command, "<redacted>");
  }
  if (reply.code == 235) {
    if (auto distrust = mechanism->finish())
      throw SmtpError(Kind::kAuth, distrust->message + " (the server said: " + reply.summary() + ")",
                      reply.code, reply.enhanced, reply.text());
    mechanism_used_ = name;
    note("authenticated with " + name);
    return true;
  }
  if (reply.code == 504) {
    note(name + " is not supported after all (504); trying the next mechanism");
    return false;
  }
  const std::string detail = mechanism->failure_detail();
  const std::string context = detail.empty() ? std::string() : " (" + detail + ")";
  if (reply.klass() == 4) fail_reply(reply, "authentication failed temporarily" + context);
  throw SmtpError(Kind::kAuth, "authentication with " + name + " failed" + context + ": " + reply.summary(),
                  reply.code, reply.enhanced, reply.text());
}

void Session::read_cancel_reply() noexcept {
  // The server owes a reply to "*" (501); read it so the trace shows it, but the error
  // we are about to raise is what matters, so a server that stays silent gets only the
  // short QUIT wait.
  try {
    read_reply(timeouts_.quit);
  } catch (...) {
  }
}

void Session::authenticate() {
  if (options_.user.empty()) return;
  progress(Phase::kAuth);
  if (tls_untrusted())
    throw SmtpError(Kind::kAuth, "not logging in: the server certificate is not trusted (" +
                                     std::string(net::verify_error_words(tls_->verify_error)) + ")");
  if (caps_.auth_mechanisms.empty()) {
    note("the server offers no AUTH; sending without authentication");
    return;
  }
  const auto choice = sasl::choose_mechanisms(policy_input());
  if (choice.candidates.empty()) {
    if (!choice.refused_clear.empty())
      throw SmtpError(Kind::kAuth,
                      "refusing to authenticate over a connection without TLS: " + join(choice.refused_clear, ", ") +
                          " would give an eavesdropper the password, a token or a response to crack offline "
                          "(use STARTTLS or TLS, or allow it for this server with "
                          "smtpmail-native-allow-plaintext-auth, :allow-plaintext-auth)");
    throw SmtpError(
        Kind::kAuth,
        "no usable AUTH mechanism: the server offers " + join(caps_.auth_mechanisms, " ") +
            (options_.mechanisms.empty() ? std::string() : "; allowed: " + join(options_.mechanisms, " ")));
  }
  for (const auto& name : choice.candidates)
    if (run_mechanism(name)) return;
  throw SmtpError(Kind::kAuth,
                  "every AUTH mechanism tried was unsupported (504): " + join(choice.candidates, ", "));
}

}  // namespace smtpn::smtp
