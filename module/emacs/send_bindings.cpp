#include "emacs/send_bindings.hpp"

#include <cctype>

#include "emacs/session_args.hpp"
#include "smtp/session.hpp"

namespace smtpn::emacs {
namespace {

emacs_value string_list(Env& env, const std::vector<std::string>& items) {
  std::vector<emacs_value> values;
  for (const auto& s : items) values.push_back(env.text(s));
  return env.list(values);
}

std::string reply_string(const smtp::Reply& reply) { return std::to_string(reply.code) + " " + reply.text(); }

// "CRAM-MD5" -> the symbol cram-md5. Names come from our own mechanism table, never the wire.
emacs_value mechanism_symbol(Env& env, const std::string& name) {
  if (name.empty()) return env.nil();
  std::string lower = name;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return env.intern(lower.c_str());
}

emacs_value tls_string(Env& env, const std::optional<net::TlsInfo>& tls) {
  return tls ? env.text(tls->protocol + " " + tls->cipher) : env.nil();
}

emacs_value certificate_plist(Env& env, const net::CertificateInfo& cert) {
  std::vector<emacs_value> items{env.intern(":subject"),    env.text(cert.subject),
                                 env.intern(":issuer"),     env.text(cert.issuer),
                                 env.intern(":not-before"), env.text(cert.not_before),
                                 env.intern(":not-after"),  env.text(cert.not_after),
                                 env.intern(":sha256"),     env.text(cert.sha256)};
  return env.list(items);
}

// Runs FN, turning SMTP errors into Lisp signals (C-g into `quit').
template <class Fn>
auto run_session(Env& env, Fn fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const smtp::SmtpError& e) {
    if (e.kind() == smtp::SmtpError::Kind::kInterrupted) {
      env.signal(env.intern("quit"), env.nil());
      throw PendingExit{};
    }
    throw to_module_error(e);
  }
}

}  // namespace

emacs_value lisp_send(Env& env, Args args) {
  const KeywordArgs kw(env, args, send_keywords());
  const ByteBuffer message = kw.required_message(":data");
  const smtp::SessionOptions options = session_options(env, kw);
  const smtp::MailOptions mail = mail_options(env, kw);

  const smtp::SendResult result = run_session(env, [&] { return smtp::send_mail(options, mail, message); });

  return send_result_plist(env, result);
}

emacs_value send_result_plist(Env& env, const smtp::SendResult& result) {
  std::vector<emacs_value> rejected;
  for (const auto& r : result.rejected)
    rejected.push_back(env.call("cons", {env.text(r.recipient), env.text(reply_string(r.reply))}));
  std::vector<emacs_value> plist{env.intern(":accepted"),     string_list(env, result.accepted),
                                 env.intern(":rejected"),     env.list(rejected),
                                 env.intern(":reply"),        env.text(reply_string(result.final_reply)),
                                 env.intern(":tls"),          tls_string(env, result.tls),
                                 env.intern(":auth"),         mechanism_symbol(env, result.mechanism),
                                 env.intern(":capabilities"), string_list(env, result.capabilities)};
  return env.list(plist);
}

emacs_value lisp_send_batch(Env& env, Args args) {
  const KeywordArgs kw(env, args, batch_keywords());
  const smtp::SessionOptions options = session_options(env, kw);
  const auto messages = kw.get(":messages");
  if (!messages) throw ModuleError(ErrorKind::kGeneric, "no :messages given");

  std::vector<ByteBuffer> bodies;  // owned here; the batch items view them
  std::vector<smtp::MailOptions> mails;
  for (emacs_value plist : env.list_items(*messages)) {
    auto fields = env.list_items(plist);
    const KeywordArgs message(env, Args(fields.data(), fields.size()), message_keywords());
    bodies.push_back(message.required_message(":data"));
    mails.push_back(mail_options(env, message));
  }
  std::vector<smtp::BatchItem> items;
  for (std::size_t i = 0; i < mails.size(); ++i) items.push_back({mails[i], bodies[i]});

  auto outcome_value = [&](const smtp::BatchOutcome& o) {
    return o.result ? send_result_plist(env, *o.result) : error_value(env, to_module_error(*o.error));
  };
  smtp::Session::OutcomeFn on_outcome;
  if (const auto fn = kw.get(":on-outcome"); fn && !env.is_nil(*fn)) {
    if (!env.satisfies("functionp", *fn)) env.wrong_type("functionp", *fn);
    on_outcome = [&env, &outcome_value, fn = *fn](std::size_t index, const smtp::BatchOutcome& o) {
      env.call(fn, {env.integer(static_cast<std::intmax_t>(index)), outcome_value(o)});
    };
  }
  const auto outcomes = run_session(env, [&] { return smtp::send_batch(options, items, on_outcome); });
  std::vector<emacs_value> values;
  for (const auto& o : outcomes) values.push_back(outcome_value(o));
  return env.list(values);
}

emacs_value lisp_server_info(Env& env, Args args) {
  const KeywordArgs kw(env, args, probe_keywords());
  smtp::SessionOptions options = session_options(env, kw);
  options.tls.report_untrusted = kw.flag(":untrusted-ok", false);
  const bool login = kw.flag(":login-only", false);
  const smtp::ServerInfo info = run_session(env, [&] { return smtp::probe_server(options, login); });

  std::vector<emacs_value> certs;
  if (info.tls)
    for (const auto& c : info.tls->chain) certs.push_back(certificate_plist(env, c));
  const bool has_leaf = info.tls && !info.tls->chain.empty();
  auto verify_error = [&]() -> emacs_value {
    if (!info.tls || info.tls->verify_error == net::VerifyError::kNone) return env.nil();
    return env.intern(net::verify_error_name(info.tls->verify_error));
  };
  auto milliseconds = [&](double ms) { return ms < 0 ? env.nil() : env.floating(ms); };
  emacs_value chain = env.list(certs);
  std::vector<emacs_value> plist{env.intern(":greeting"),
                                 env.text(reply_string(info.greeting)),
                                 env.intern(":capabilities-before-tls"),
                                 string_list(env, info.capabilities_before_tls),
                                 env.intern(":capabilities-after-tls"),
                                 string_list(env, info.capabilities_after_tls),
                                 env.intern(":tls"),
                                 tls_string(env, info.tls),
                                 env.intern(":tls-version"),
                                 info.tls ? env.text(info.tls->protocol) : env.nil(),
                                 env.intern(":cipher"),
                                 info.tls ? env.text(info.tls->cipher) : env.nil(),
                                 env.intern(":verified"),
                                 info.tls && info.tls->verified ? env.t() : env.nil(),
                                 env.intern(":verify-error"),
                                 verify_error(),
                                 env.intern(":verify-result"),
                                 info.tls ? env.text(info.tls->verify_result) : env.nil(),
                                 env.intern(":pinned"),
                                 info.tls && info.tls->pinned ? env.t() : env.nil(),
                                 env.intern(":certificate"),
                                 has_leaf ? certificate_plist(env, info.tls->chain.front()) : env.nil(),
                                 env.intern(":chain"),
                                 chain,
                                 env.intern(":certificates"),
                                 chain,
                                 env.intern(":fingerprint"),
                                 has_leaf ? env.text(info.tls->chain.front().sha256) : env.nil(),
                                 env.intern(":mechanisms"),
                                 string_list(env, info.offered_mechanisms),
                                 env.intern(":chosen-mechanism"),
                                 mechanism_symbol(env, info.chosen_mechanism),
                                 env.intern(":connect-ms"),
                                 milliseconds(info.connect_ms),
                                 env.intern(":tls-ms"),
                                 milliseconds(info.tls_ms),
                                 env.intern(":round-trip-ms"),
                                 milliseconds(info.round_trip_ms)};
  if (login) {
    plist.push_back(env.intern(":auth"));
    plist.push_back(mechanism_symbol(env, info.login_mechanism));
    plist.push_back(env.intern(":auth-error"));
    plist.push_back(info.login_error ? error_value(env, to_module_error(*info.login_error)) : env.nil());
  }
  return env.list(plist);
}

}  // namespace smtpn::emacs
