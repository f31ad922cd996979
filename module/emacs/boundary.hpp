// LispBoundary: all the Lisp a running session may reach in one module call, kept at the
// edge of the state machine. Secrets are asked for once; trace lines are collected in C++
// and handed over as lists at each phase change and at the end; a non-local exit of any of
// these is taken out of Emacs, the session closes cleanly, and the exit is raised again.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secret.hpp"
#include "emacs/env.hpp"
#include "emacs/errors.hpp"
#include "smtp/error.hpp"

namespace smtpn::emacs {

class LispBoundary {
 public:
  explicit LispBoundary(Env& env) : env_(env) {}
  LispBoundary(const LispBoundary&) = delete;
  LispBoundary& operator=(const LispBoundary&) = delete;

  // Runs FN, which calls Lisp through the env. A non-local exit it leaves (a signal, a throw,
  // C-g) is captured and cleared, and smtp::CallbackAbort thrown so the session stops where
  // it stands. Once an exit is held, FN is not run at all.
  template <class Fn>
  auto guard(Fn fn) -> decltype(fn()) {
    if (exit_) throw smtp::CallbackAbort{};
    return capture(fn);
  }

  // The string a :password or :oauth2-token function returns.
  crypto::Secret secret(emacs_value fn);

  void set_trace(emacs_value fn) { trace_ = fn; }
  bool tracing() const { return trace_.has_value(); }
  void record(std::string_view line) { lines_.emplace_back(line); }
  // The session entered PHASE: the lines of the last one go to Lisp.
  void phase(smtp::Phase phase);
  // True once a callback's exit is held (the session's interrupt check asks).
  bool stopped() const { return exit_.has_value(); }

  // The session returned its outcome: the last lines go to Lisp, and nothing may turn the
  // outcome into an error now (a message may be delivered), so a late exit is dropped and a
  // C-g consumed.
  void end_with_outcome();
  // The session failed with ERROR. If a callback's exit stopped it, that exit is raised again
  // exactly (PendingExit is thrown); otherwise returns, and the caller signals ERROR.
  void end_with_error(const smtp::SmtpError& error);

 private:
  void flush();  // may throw smtp::CallbackAbort

  // Runs FN; a non-local exit is taken (the first one held is the one raised again). A C-g
  // pending before FN stops the session as the interrupt check would, so that it is reported
  // with what became of the message, not raised as a bare `quit' inside FN.
  template <class Fn>
  auto capture(Fn fn) -> decltype(fn()) {
    if (env_.should_quit()) throw smtp::CallbackAbort{};
    try {
      return fn();
    } catch (const PendingExit&) {
      const Env::Exit exit = env_.take_exit();
      if (!exit_) exit_ = exit;
      throw smtp::CallbackAbort{};
    }
  }

  Env& env_;
  std::optional<emacs_value> trace_;
  std::vector<std::string> lines_;
  bool trace_failed_ = false;  // never called again: the lines are dropped
  std::optional<smtp::Phase> phase_;
  std::optional<Env::Exit> exit_;
};

}  // namespace smtpn::emacs
