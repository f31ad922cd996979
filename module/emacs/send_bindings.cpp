#include "emacs/send_bindings.hpp"

#include <cctype>

#include "emacs/outcome.hpp"
#include "emacs/session_args.hpp"
#include "emacs/trust_data.hpp"
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

// Runs FN (a session whose Lisp goes through BOUNDARY), turning SMTP errors into Lisp
// signals (C-g into smtpmail-native-interrupted), and a callback's non-local exit that
// stopped it back into that exit.
template <class Fn>
auto run_session(LispBoundary& boundary, Fn fn) -> decltype(fn()) {
  try {
    auto value = fn();
    boundary.end_with_outcome();
    return value;
  } catch (const smtp::SmtpError& e) {
    boundary.end_with_error(e);
    throw to_module_error(e, ErrorKind::kInterrupted);
  }
}

}  // namespace

emacs_value lisp_send(Env& env, Args args) {
  const KeywordArgs kw(env, args, send_keywords());
  const ByteBuffer message = kw.required_message(":data");
  LispBoundary boundary(env);
  const smtp::SessionOptions options = session_options(env, kw, boundary);
  const smtp::MailOptions mail = mail_options(env, kw);

  const smtp::SendResult result =
      run_session(boundary, [&] { return smtp::send_mail(options, mail, message); });

  return send_result_plist(env, result);
}

emacs_value lisp_send_batch(Env& env, Args args) {
  const KeywordArgs kw(env, args, batch_keywords());
  LispBoundary boundary(env);
  const smtp::SessionOptions options = session_options(env, kw, boundary);
  const auto messages = kw.get(":messages");
  if (!messages) throw argument_error("no :messages given");

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

  // Each outcome becomes a Lisp value once: :on-outcome gets the very object the result
  // list holds (a caller may keep either), and it is not built twice.
  std::vector<emacs_value> values(items.size(), nullptr);
  auto outcome_value = [&](std::size_t index, const smtp::BatchOutcome& o) {
    if (!values[index])
      values[index] = o.result ? send_result_plist(env, *o.result)
                               : error_value(env, to_module_error(*o.error, ErrorKind::kInterrupted));
    return values[index];
  };
  smtp::Session::OutcomeFn on_outcome;
  if (const auto fn = kw.get(":on-outcome"); fn && !env.is_nil(*fn)) {
    if (!env.satisfies("functionp", *fn)) env.wrong_type("functionp", *fn);
    on_outcome = [&env, &boundary, &outcome_value, fn = *fn](std::size_t index, const smtp::BatchOutcome& o) {
      // A C-g pending now would hit the call before FN runs, and a sent message would never
      // be marked sent: the outcome goes first, then the session stops as C-g asked.
      const bool quit = env.should_quit();
      if (quit) env.consume_quit();
      boundary.guard(
          [&] { env.call(fn, {env.integer(static_cast<std::intmax_t>(index)), outcome_value(index, o)}); });
      if (quit) throw smtp::CallbackAbort{};
    };
  }
  const auto outcomes =
      run_session(boundary, [&] { return smtp::send_batch(options, items, on_outcome); });
  for (std::size_t i = 0; i < outcomes.size(); ++i) outcome_value(i, outcomes[i]);
  return env.list(values);
}

emacs_value lisp_server_info(Env& env, Args args) {
  const KeywordArgs kw(env, args, probe_keywords());
  LispBoundary boundary(env);
  smtp::SessionOptions options = session_options(env, kw, boundary);
  options.tls.report_untrusted = kw.flag(":untrusted-ok", false);
  const bool login = kw.flag(":login-only", false);
  const smtp::ServerInfo info = run_session(boundary, [&] { return smtp::probe_server(options, login); });

  const bool has_leaf = info.tls && !info.tls->chain.empty();
  auto milliseconds = [&](double ms) { return ms < 0 ? env.nil() : env.floating(ms); };
  emacs_value chain = info.tls ? to_lisp(env, chain_datum(info.tls->chain)) : env.nil();
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
                                 to_lisp(env, verify_error_datum(info.tls ? info.tls->verify_error
                                                                          : net::VerifyError::kNone)),
                                 env.intern(":verify-result"),
                                 info.tls ? env.text(info.tls->verify_result) : env.nil(),
                                 env.intern(":pinned"),
                                 info.tls && info.tls->pinned ? env.t() : env.nil(),
                                 env.intern(":certificate"),
                                 has_leaf ? to_lisp(env, certificate_datum(info.tls->chain.front())) : env.nil(),
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
                                 milliseconds(info.round_trip_ms),
                                 env.intern(":host"),
                                 env.text(options.host),
                                 env.intern(":port"),
                                 to_lisp(env, port_datum(options.port))};
  if (login) {
    plist.push_back(env.intern(":auth"));
    // As in send results: the mechanism's name ("PLAIN"), or nil.
    plist.push_back(info.login_mechanism.empty() ? env.nil() : env.text(info.login_mechanism));
    plist.push_back(env.intern(":auth-error"));
    plist.push_back(info.login_error
                        ? error_value(env, to_module_error(*info.login_error, ErrorKind::kInterrupted))
                        : env.nil());
  }
  return env.list(plist);
}

}  // namespace smtpn::emacs
