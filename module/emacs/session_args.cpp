#include "emacs/session_args.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>

#include "crypto/hex.hpp"

namespace smtpn::emacs {
namespace {

template <std::size_t N, std::size_t M>
constexpr std::array<const char*, N + M> concat(const std::array<const char*, N>& a,
                                                const std::array<const char*, M>& b) {
  std::array<const char*, N + M> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = a[i];
  for (std::size_t i = 0; i < M; ++i) out[N + i] = b[i];
  return out;
}

// clang-format off
constexpr std::array<const char*, 21> kConnectionKeywords = {
    ":host", ":port", ":stream-type", ":helo", ":user", ":password", ":mechanisms",
    ":allow-plaintext-auth", ":trust-file", ":extra-trust-files", ":client-cert", ":client-key",
    ":fingerprint", ":verify", ":timeout", ":trace", ":max-reply-line", ":max-reply-lines",
    ":tls-server-name", ":oauth2-token", ":scram-max-iterations"};
constexpr std::array<const char*, 7> kMessageKeywords = {
    ":from", ":recipients", ":data", ":dsn-notify", ":dsn-ret", ":envid", ":allow-partial"};
constexpr std::array<const char*, 2> kBatchOnlyKeywords = {":messages", ":on-outcome"};
constexpr std::array<const char*, 2> kProbeOnlyKeywords = {":untrusted-ok", ":login-only"};
// clang-format on
constexpr auto kSendKeywords = concat(kConnectionKeywords, kMessageKeywords);
constexpr auto kBatchKeywords = concat(kConnectionKeywords, kBatchOnlyKeywords);
constexpr auto kProbeKeywords = concat(kConnectionKeywords, kProbeOnlyKeywords);

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

smtp::StreamType stream_type(Env& env, const KeywordArgs& args) {
  const auto name = args.symbol_or_string(":stream-type");
  if (!name) return smtp::StreamType::kOpportunistic;
  if (*name == "starttls") return smtp::StreamType::kStartTls;
  if (*name == "ssl" || *name == "tls") return smtp::StreamType::kImplicitTls;
  if (*name == "plain") return smtp::StreamType::kPlain;
  (void)env;
  throw argument_error(
                    ":stream-type must be nil, starttls, ssl, tls or plain, not " + *name);
}

smtp::PlaintextAuth plaintext_auth(Env& env, const KeywordArgs& args) {
  const auto v = args.get(":allow-plaintext-auth");
  if (!v) return smtp::PlaintextAuth::kLoopback;
  if (env.is_nil(*v)) return smtp::PlaintextAuth::kNever;
  if (env.eq(*v, env.intern("loopback"))) return smtp::PlaintextAuth::kLoopback;
  if (env.eq(*v, env.t())) return smtp::PlaintextAuth::kAlways;
  throw argument_error(":allow-plaintext-auth must be nil, t or loopback");
}

std::string port(Env& env, const KeywordArgs& args, smtp::StreamType type) {
  const auto v = args.get(":port");
  if (!v || env.is_nil(*v)) return type == smtp::StreamType::kImplicitTls ? "465" : "25";
  if (env.satisfies("integerp", *v)) return std::to_string(args.count(":port", 25, 1, 65535));
  return args.string(":port");
}

std::vector<std::string> mechanisms(Env& env, const KeywordArgs& args) {
  std::vector<std::string> out;
  const auto v = args.get(":mechanisms");
  if (!v) return out;
  for (emacs_value item : env.list_items(*v)) {
    if (env.satisfies("symbolp", item))
      out.push_back(upper(env.symbol_name(item)));
    else if (env.satisfies("stringp", item))
      out.push_back(upper(env.bytes(item)));
    else
      env.wrong_type("symbolp", item);
  }
  return out;
}

std::string file_arg(Env& env, const KeywordArgs& args, const char* keyword) {
  const auto v = args.get(keyword);
  if (!v || env.is_nil(*v)) return {};
  if (!env.satisfies("stringp", *v)) env.wrong_type("stringp", *v);
  return env.bytes(env.call("expand-file-name", {*v}));
}

std::string dsn_notify(Env& env, const KeywordArgs& args) {
  const auto v = args.get(":dsn-notify");
  if (!v || env.is_nil(*v)) return {};
  if (env.satisfies("stringp", *v)) return upper(env.bytes(*v));
  std::string out;
  const auto items = env.satisfies("symbolp", *v) ? std::vector<emacs_value>{*v} : env.list_items(*v);
  for (emacs_value item : items) {
    if (!env.satisfies("symbolp", item)) env.wrong_type("symbolp", item);
    if (!out.empty()) out += ',';
    out += upper(env.symbol_name(item));
  }
  return out;
}

// A string, or a function returning one (called only when a mechanism needs it, at most
// once, through the boundary that captures its non-local exit).
smtp::PasswordProvider secret_source(Env& env, const KeywordArgs& args, const char* keyword,
                                     LispBoundary& boundary) {
  const auto v = args.get(keyword);
  if (!v || env.is_nil(*v)) return {};
  if (env.satisfies("stringp", *v)) {
    auto secret = std::make_shared<crypto::Secret>(env.bytes(*v));
    return [secret] { return *secret; };
  }
  if (!env.satisfies("functionp", *v)) env.wrong_type("stringp", *v);
  emacs_value fn = *v;
  LispBoundary* b = &boundary;
  return [b, fn] { return b->secret(fn); };
}

std::uint32_t scram_max_iterations(const KeywordArgs& args) {
  return static_cast<std::uint32_t>(
      args.count(":scram-max-iterations", sasl::kDefaultScramMaxIterations, sasl::kScramMinIterations, 100000000));
}

// The name a send without :helo gives in EHLO: `system-name', asked at most once a minute (it
// is a Lisp call and a uname(2) per send, a tenth of a small send's cost on loopback, for a
// name that almost never changes). Called on Emacs's thread only.
std::string local_name(Env& env) {
  using Clock = std::chrono::steady_clock;
  static std::string name;
  static Clock::time_point asked;
  const Clock::time_point now = Clock::now();
  if (name.empty() || now - asked > std::chrono::minutes(1)) {
    name = env.bytes(env.call("system-name", {}));
    asked = now;
  }
  return name;
}

}  // namespace

std::span<const char* const> send_keywords() { return kSendKeywords; }
std::span<const char* const> connection_keywords() { return kConnectionKeywords; }
std::span<const char* const> batch_keywords() { return kBatchKeywords; }
std::span<const char* const> probe_keywords() { return kProbeKeywords; }
std::span<const char* const> message_keywords() { return kMessageKeywords; }

smtp::SessionOptions session_options(Env& env, const KeywordArgs& args, LispBoundary& boundary) {
  smtp::SessionOptions o;
  o.host = args.string(":host");
  o.stream_type = stream_type(env, args);
  o.port = port(env, args, o.stream_type);
  o.helo = args.given(":helo") ? args.string(":helo") : local_name(env);
  o.user = args.string(":user");
  o.password = secret_source(env, args, ":password", boundary);
  o.oauth_token = secret_source(env, args, ":oauth2-token", boundary);
  o.scram_max_iterations = scram_max_iterations(args);
  o.mechanisms = mechanisms(env, args);
  o.plaintext_auth = plaintext_auth(env, args);
  o.tls.verify = args.flag(":verify", true);
  o.tls.server_name = args.string(":tls-server-name");
  o.tls.trust_file = file_arg(env, args, ":trust-file");
  for (const auto& file : args.string_list(":extra-trust-files"))
    o.tls.extra_trust_files.push_back(env.bytes(env.call("expand-file-name", {env.text(file)})));
  o.tls.client_cert_file = file_arg(env, args, ":client-cert");
  o.tls.client_key_file = file_arg(env, args, ":client-key");
  if (const auto fp = args.string(":fingerprint"); !fp.empty()) {
    auto raw = crypto::hex_decode_fingerprint(fp);
    if (!raw || raw->size() != 32)
      throw argument_error(
          ":fingerprint must be a SHA-256 digest: 64 hex digits, colons allowed, not \"" + fp + "\"");
    o.tls.pin_sha256 = *raw;
  }
  o.timeout_seconds = args.number(":timeout", 60, smtp::kMinTimeoutSeconds, smtp::kMaxTimeoutSeconds);
  o.limits.max_line = args.count(":max-reply-line", o.limits.max_line, 64, std::size_t{1} << 24);
  o.limits.max_lines = args.count(":max-reply-lines", o.limits.max_lines, 1, 1000000);
  LispBoundary* b = &boundary;
  if (const auto trace = args.get(":trace"); trace && !env.is_nil(*trace)) {
    if (!env.satisfies("functionp", *trace)) env.wrong_type("functionp", *trace);
    boundary.set_trace(*trace);
    // Recorded here, handed to Lisp by the boundary between phases: no Lisp per reply line.
    o.trace = [b](std::string_view line) { b->record(line); };
  }
  o.progress = [b](smtp::Phase phase, std::size_t, std::size_t) { b->phase(phase); };
  // C-g: should_quit is polled between waits (every ~50 ms) on this, the main thread.
  Env* e = &env;
  o.interrupt = [e, b] { return b->stopped() || e->should_quit(); };
  return o;
}

smtp::MailOptions mail_options(Env& env, const KeywordArgs& args) {
  smtp::MailOptions m;
  m.from = args.string(":from");
  m.recipients = args.string_list(":recipients");
  m.dsn_notify = dsn_notify(env, args);
  if (const auto ret = args.symbol_or_string(":dsn-ret")) m.dsn_ret = upper(*ret);
  m.envid = args.string(":envid");
  m.allow_partial = args.flag(":allow-partial", false);
  return m;
}

}  // namespace smtpn::emacs
