#include "jobs/job.hpp"

#include "smtp/session.hpp"

namespace smtpn::jobs {

const char* state_name(JobState state) {
  switch (state) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
  }
  return "unknown";
}

Job::Job(std::uint64_t id, smtp::SessionOptions options, smtp::MailOptions mail, ByteBuffer message)
    : id_(id), options_(std::move(options)), mail_(std::move(mail)), message_(std::move(message)) {}

bool Job::holds_inputs() const {
  return options_.password || options_.oauth_token || message_.size() != 0;
}

// The providers own the only copies of the password and the token (their Secrets are wiped
// when the last reference goes); the message is freed here, on the worker, not whenever
// Lisp's GC collects the job object (and not on Emacs's thread). Lisp may keep a finished
// job's handle for as long as it likes: it holds no secret and no message.
void Job::release_inputs() noexcept {
  options_.password = nullptr;
  options_.oauth_token = nullptr;
  message_ = ByteBuffer();
}

void Job::run(const smtp::TraceFn& trace, const std::function<void()>& on_progress) {
  if (cancel_requested()) {
    auto& error = error_.emplace(smtp::SmtpError::Kind::kInterrupted, "cancelled before it started");
    error.phase = smtp::Phase::kConnect;
    error.delivery = smtp::Delivery::kNotSent;
    error.host = options_.host;
    error.port = options_.port;
    release_inputs();
    state_.store(JobState::kCancelled);
    return;
  }
  state_.store(JobState::kRunning);
  // Moved, not copied: the session's options must be the last holder of the providers, so
  // that they die with it.
  smtp::SessionOptions options = std::move(options_);
  options_ = smtp::SessionOptions{};
  options.trace = trace;
  options.interrupt = [this] { return cancel_requested(); };
  options.progress = [this, &on_progress](smtp::Phase phase, std::size_t sent, std::size_t total) {
    phase_.store(phase);
    if (phase == smtp::Phase::kData) {  // other phases carry no byte counts
      sent_.store(sent);
      total_.store(total);
    }
    if (on_progress) on_progress();
  };
  JobState end = JobState::kFailed;
  try {
    result_ = smtp::send_mail(options, mail_, message_);
    end = JobState::kSucceeded;
  } catch (const smtp::SmtpError& e) {
    error_ = e;
    end = e.kind() == smtp::SmtpError::Kind::kInterrupted ? JobState::kCancelled : JobState::kFailed;
  } catch (const std::exception& e) {
    // Where it failed is unknown, so whether the message went is too.
    auto& error = error_.emplace(smtp::SmtpError::Kind::kProtocol, std::string("internal error: ") + e.what());
    error.phase = phase_.load();
    error.delivery = smtp::Delivery::kUnknown;
    error.host = options.host;
    error.port = options.port;
  }
  options = smtp::SessionOptions{};
  release_inputs();
  state_.store(end);  // last: whoever sees the job ended sees its inputs gone
}

}  // namespace smtpn::jobs
