// Job: one background send. The worker thread runs the session; everything Lisp needs
// (progress, trace lines, the outcome) is posted as events and turned into Lisp values
// on the main thread, which is the only thread that ever touches emacs_env.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "common/byte_buffer.hpp"
#include "smtp/error.hpp"
#include "smtp/options.hpp"

namespace smtpn::jobs {

enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled };
const char* state_name(JobState state);

class Job {
 public:
  // OPTIONS must hold no Lisp callbacks: its password is already resolved, and trace and
  // progress are installed by the runner.
  Job(std::uint64_t id, smtp::SessionOptions options, smtp::MailOptions mail, ByteBuffer message);

  std::uint64_t id() const { return id_; }
  JobState state() const { return state_.load(); }
  void request_cancel() { cancel_.store(true); }
  bool cancel_requested() const { return cancel_.load(); }
  smtp::Phase phase() const { return phase_.load(); }
  std::size_t bytes_sent() const { return sent_.load(); }
  std::size_t bytes_total() const { return total_.load(); }

  // Worker side. Never throws: the outcome is stored.
  void run(const smtp::TraceFn& trace, const std::function<void()>& on_progress);

  // Whether the credentials (password and OAuth token providers) and the message are still
  // held: only until the job ends, however it ends.
  bool holds_inputs() const;

  // Main thread, after the job finished.
  const std::optional<smtp::SendResult>& result() const { return result_; }
  const std::optional<smtp::SmtpError>& error() const { return error_; }

 private:
  void release_inputs() noexcept;

  std::uint64_t id_;
  smtp::SessionOptions options_;
  smtp::MailOptions mail_;
  ByteBuffer message_;
  std::atomic<JobState> state_{JobState::kQueued};
  std::atomic<bool> cancel_{false};
  std::atomic<smtp::Phase> phase_{smtp::Phase::kConnect};
  std::atomic<std::size_t> sent_{0};
  std::atomic<std::size_t> total_{0};
  std::optional<smtp::SendResult> result_;
  std::optional<smtp::SmtpError> error_;
};

}  // namespace smtpn::jobs
