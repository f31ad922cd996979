#include "emacs/boundary.hpp"

namespace smtpn::emacs {

crypto::Secret LispBoundary::secret(emacs_value fn) {
  return guard([&] {
    emacs_value s = env_.call(fn, {});
    if (!env_.satisfies("stringp", s)) env_.wrong_type("stringp", s);
    return crypto::Secret{env_.bytes(s)};
  });
}

void LispBoundary::phase(smtp::Phase phase) {
  if (phase_ == phase) return;  // byte counts within one phase
  phase_ = phase;
  flush();
}

void LispBoundary::flush() {
  if (!trace_ || trace_failed_ || lines_.empty()) return;
  std::vector<std::string> lines;
  lines.swap(lines_);
  // Not guard(): after a :password function failed, the transcript up to QUIT is still news.
  try {
    capture([&] {
      std::vector<emacs_value> values;
      values.reserve(lines.size());
      for (const auto& line : lines) values.push_back(env_.text(line));
      env_.call(*trace_, {env_.list(values)});
    });
  } catch (const smtp::CallbackAbort&) {
    trace_failed_ = true;
    throw;
  }
}

void LispBoundary::end_with_outcome() {
  env_.consume_quit();  // first, or the trace function would be hit by it
  try {
    flush();
  } catch (const smtp::CallbackAbort&) {
  }
  exit_.reset();  // already cleared in Emacs: the outcome stands
}

void LispBoundary::end_with_error(const smtp::SmtpError& error) {
  const std::optional<Env::Exit> cause = exit_;
  // A C-g the error already reports is consumed (before the trace function could be hit).
  if (!cause && error.kind() == smtp::SmtpError::Kind::kInterrupted) env_.consume_quit();
  try {
    flush();
  } catch (const smtp::CallbackAbort&) {
    // The trace function failed on the last lines; the session's own error is the news.
  }
  if (cause) {
    env_.raise(*cause);
    throw PendingExit{};
  }
}

}  // namespace smtpn::emacs
